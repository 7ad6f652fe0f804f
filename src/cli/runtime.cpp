#include "cli/runtime.hpp"

#include <torch/torch.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "cli/commands.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "core/partial_files.hpp"
#include "core/stop.hpp"

namespace tessera::cli {

namespace {

const char* kUsage = "usage: tessera <command> [--config JOB.ini] [--section.key=value ...]";

void print_usage(const std::vector<Command>& commands) {
  if (!log::printing()) return;
  std::cout << "tessera: fine-grained distributed model service and its adversary\n\n"
            << kUsage << "\n\ncommands:\n";
  for (const auto& command : commands)
    std::printf("  %-14s %s\n", command.name.c_str(), command.summary.c_str());
  std::cout << "\n'tessera <command> --help' lists that command's options, defaults and meaning.\n"
            << "Options come from the job file's [section] key = value lines and are\n"
            << "overridden by --section.key=value on the command line.\n";
}

// Longest match first, so "bench train" wins over a plain "bench".
const Command* find_command(const std::vector<Command>& commands, const std::vector<std::string>& args,
                            std::size_t& words) {
  for (words = 2; words >= 1; --words) {
    if (args.size() < words) continue;
    std::string name = args[0];
    if (words == 2) name += " " + args[1];
    for (const auto& command : commands)
      if (command.name == name) return &command;
  }
  return nullptr;
}

// The sections any command reads: a job file's other sections are typos.
std::set<std::string> every_section(const std::vector<Command>& commands) {
  std::set<std::string> sections;
  for (const auto& command : commands) {
    po::options_description options;
    command.add_options(options);
    sections.merge(sections_of(options));
  }
  return sections;
}

// Large tensors (a population's activations: tens of MiB) are allocated and freed
// every call. Above the mmap threshold glibc returns them to the kernel at once, and
// the next call takes page faults on fresh zeroed pages: about a tenth of the attack's
// time. Kept in the heap instead, they are reused.
void keep_large_allocations() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void set_threads(const Config& config, MPI_Comm world) {
  int threads = config.get<int>("run.threads");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  TESSERA_REQUIRE(threads >= 0, "--run.threads: must be >= 0, got ", threads);
  // Far more threads than cores only contend (and 10^5 of them never finish starting).
  TESSERA_REQUIRE(threads <= 4 * cores, "--run.threads: at most ", 4 * cores, " (4 per core of the ", cores,
                  " here), got ", threads);
  if (threads == 0) threads = std::max(1, cores / node_place(world).size);
  torch::set_num_threads(threads);
}

int dispatch(const std::vector<Command>& commands, const std::vector<std::string>& args, MPI_Comm world) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(commands);
    return args.empty() ? 2 : 0;
  }
  std::size_t words = 0;
  const Command* command = find_command(commands, args, words);
  if (!command) {
    // "bench" alone names a family of commands ("bench train", ...): list them.
    std::string family;
    for (const auto& c : commands)
      if (c.name.rfind(args[0] + " ", 0) == 0) family += (family.empty() ? "" : ", ") + c.name.substr(args[0].size() + 1);
    if (family.empty()) throw AgreedError("unknown command '" + args[0] + "' (see 'tessera --help' for the list)");
    const bool help = args.size() == 1 || args[1] == "--help" || args[1] == "-h";
    if (help && log::printing())
      std::cout << "'tessera " << args[0] << " <what>' with <what> one of: " << family << "\n"
                << "'tessera " << args[0] << " <what> --help' lists that command's options.\n";
    if (help) return args.size() == 1 ? 2 : 0;
    throw AgreedError("unknown command '" + args[0] + " " + args[1] + "': 'tessera " + args[0] + "' takes one of " +
                      family);
  }

  po::options_description options("options of 'tessera " + command->name + "'", 100, 50);
  command->add_options(options);
  const std::vector<std::string> rest(args.begin() + words, args.end());
  const Config config = agree(world, [&] { return Config::parse(command->name, options, rest, every_section(commands)); });
  if (config.help_requested()) {
    if (log::printing())
      std::cout << "tessera " << command->name << ": " << command->summary << "\n"
                << "usage: tessera " << command->name
                << " [--config JOB.ini] [--section.key=value ...]\n\n"
                << options << "\n";
    return 0;
  }
  keep_large_allocations();
  agree(world, [&] { set_threads(config, world); });
  return command->run(config, world);
}

}  // namespace

int run(int argc, char** argv, const std::vector<Command>& commands) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm world = MPI_COMM_WORLD;
  int rank = 0;
  MPI_Comm_rank(world, &rank);
  log::set_world_rank(rank);

  const std::vector<std::string> args(argv + 1, argv + argc);
  std::size_t words = 0;
  const Command* command = find_command(commands, args, words);
  const std::string name = command ? "tessera " + command->name : "tessera";
  int code = 0;
  try {
    code = dispatch(commands, args, world);
  } catch (const stop::Stopped& e) {
    if (rank == 0) std::fprintf(stderr, "%s: stopped: %s\n", name.c_str(), e.what());
    code = stop::kStoppedExitCode;
  } catch (const AgreedError& e) {
    if (rank == 0) std::fprintf(stderr, "%s: error: %s\n", name.c_str(), e.what());
    code = 1;
  } catch (const std::exception& e) {
    // Only this rank may have failed: the others could be waiting in a collective
    // call, so the whole job is aborted rather than left hanging.
    char host[256] = "unknown-host";
    gethostname(host, sizeof host - 1);
    std::fprintf(stderr, "%s: rank %d on %s: fatal: %s\n", name.c_str(), rank, host, e.what());
    std::fflush(stderr);
    partial_files::remove_all();
    partial_files::remove_empty_created_folders();
    MPI_Abort(world, 1);
  }
  // A run that ends without its result leaves no empty output folder of its own making.
  if (code != 0 && rank == 0) partial_files::remove_empty_created_folders();
  MPI_Finalize();
  return code;
}

}  // namespace tessera::cli
