// tessera: the table of commands, in the order `tessera --help` lists them, handed to
// the runtime (cli/runtime.hpp), which parses, dispatches and turns errors into exit
// codes.
#include "bench/benchmarks.hpp"
#include "cli/runtime.hpp"

int main(int argc, char** argv) {
  using namespace tessera;
  static const std::vector<cli::Command> commands{
      cli::train_command,         cli::blocks_command,          cli::serve_command,
      cli::drop_command,          cli::swap_command,            bench::train_command,
      bench::service_command,     bench::sweep_command,         bench::fitness_command,
      bench::sinkhorn_command,    bench::assignment_command,    bench::streams_command,
      bench::packets_command,     cli::attack_command,          cli::threshold_command,
      cli::finetune_command,      cli::streams_analyze_command, cli::streams_obfuscate_command,
      cli::mixnn_command};
  return cli::run(argc, argv, commands);
}
