// The benchmarks, `tessera bench NAME`: one file each (bench/NAME.cpp), each a command
// of the table in src/main.cpp that measures tessera against its baseline in the same
// run and reports through bench::Report (docs/DESIGN.md section 6.7).
#pragma once

#include "cli/commands.hpp"

namespace tessera::bench {

extern const cli::Command train_command;
extern const cli::Command service_command;
extern const cli::Command sweep_command;
extern const cli::Command fitness_command;
extern const cli::Command sinkhorn_command;
extern const cli::Command assignment_command;
extern const cli::Command streams_command;
extern const cli::Command packets_command;

}  // namespace tessera::bench
