// A command: every experiment is one entry of the table (name, what it does, its
// options, its run function), which src/main.cpp hands to cli::run; the commands
// of this folder are declared here, the benchmarks in bench/benchmarks.hpp.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "core/config.hpp"

namespace tessera::cli {

struct Command {
  std::string name;     // "train", or "bench train" for a benchmark
  std::string summary;  // one line for `tessera --help`
  void (*add_options)(po::options_description& options);
  // Runs on every rank of `world`; returns the process exit code.
  int (*run)(const Config& config, MPI_Comm world);
};

// Defined one per file (cmd_*.cpp).
extern const Command train_command;
extern const Command blocks_command;
extern const Command serve_command;
extern const Command drop_command;
extern const Command swap_command;
extern const Command threshold_command;
extern const Command finetune_command;
extern const Command attack_command;
extern const Command streams_analyze_command;
extern const Command streams_obfuscate_command;
extern const Command mixnn_command;

}  // namespace tessera::cli
