#include "cli/commands.hpp"

namespace tessera::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      train_command,
      blocks_command,
      serve_command,
      drop_command,
      swap_command,
      bench_train_command,
      bench_service_command,
      bench_sweep_command,
      bench_fitness_command,
      bench_sinkhorn_command,
      bench_assignment_command,
      bench_streams_command,
      bench_packets_command,
      attack_command,
      threshold_command,
      finetune_command,
      streams_analyze_command,
      streams_obfuscate_command,
      mixnn_command,
  };
  return table;
}

}  // namespace tessera::cli
