// libFuzzer harness: the model-file reader, tessera::models::load
// (src/models/model_file.cpp) on an HDF5 file, through src/io/h5*.cpp.
#include <torch/torch.h>

#include <cstdint>

#include "fuzz_common.hpp"
#include "models/model_file.hpp"

using namespace tessera;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_mpi_and_hdf5();
  torch::set_num_threads(1);
  // LibTorch's lazily built state (operator tables, allocators) is not a leak.
  __lsan_disable();
  {
    torch::NoGradGuard no_grad;
    models::build("mlp-mixnn", 0)->forward(torch::zeros({1, 1, 28, 28}));
  }
  __lsan_enable();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile input("model", ".h5");
  const std::string& path = input.write(data, size);
  models::LoadedModel loaded;
  const bool ok = fuzz::accepts([&] { loaded = models::load(path, MPI_COMM_SELF); });
  fuzz::require_no_open_hdf5_objects("models::load");
  if (!ok) return 0;
  if (!loaded.network) fuzz::finding("models::load accepted a file but returned no network");
  // A loaded model must be usable: one forward pass on a zero image of its arch.
  const auto& arch = models::architecture(loaded.info.arch);
  torch::NoGradGuard no_grad;
  loaded.network->eval();
  const auto logits = loaded.network->forward(torch::zeros({1, arch.channels, arch.height, arch.width}));
  if (logits.dim() != 2 || logits.size(0) != 1 || logits.size(1) != arch.classes)
    fuzz::finding("a loaded model gives logits of the wrong shape");
  return 0;
}
