// libFuzzer harness: the attack checkpoint reader, tessera::search::read_checkpoint
// (src/search/checkpoint.cpp) on an HDF5 file, through src/io/h5*.cpp.
#include <cstdint>

#include "search/checkpoint.hpp"
#include "fuzz_common.hpp"

using namespace tessera;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_mpi_and_hdf5();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile input("checkpoint", ".h5");
  const std::string& path = input.write(data, size);
  search::Checkpoint c;
  const bool ok = fuzz::accepts([&] { c = search::read_checkpoint(path, MPI_COMM_SELF); });
  fuzz::require_no_open_hdf5_objects("search::read_checkpoint");
  if (!ok) return 0;
  // What the reader promises about an accepted checkpoint (the resumed search
  // indexes members and genomes with these sizes).
  const auto& h = c.history;
  const auto G = static_cast<std::int64_t>(h.best_fitness.size());
  std::int64_t parts = 0;
  for (auto s : c.part_sizes) parts += s;
  if (c.generation < 0 || G != c.generation + 1 || parts != h.population ||
      static_cast<std::int64_t>(c.members.size()) != h.population * h.positions ||
      static_cast<std::int64_t>(c.fitness.size()) != h.population ||
      static_cast<std::int64_t>(h.best_genome.size()) != G * h.held)
    fuzz::finding("read_checkpoint accepted a checkpoint of inconsistent sizes");
  return 0;
}
