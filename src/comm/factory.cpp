#include "comm/communicator.hpp"
#include "core/error.hpp"

namespace tessera::comm {

namespace {
bool gpu_visible() { return torch::cuda::is_available() && torch::cuda::device_count() > 0; }
}  // namespace

std::unique_ptr<Communicator> make_communicator(const std::string& backend, MPI_Comm comm) {
  TESSERA_REQUIRE(backend == "mpi" || backend == "nccl" || backend == "auto",
                  "--comm.backend: must be mpi, nccl or auto, got '", backend, "'");
#ifdef TESSERA_HAVE_NCCL_BACKEND
  const bool built = true;
#else
  const bool built = false;
#endif
  const bool gpu = gpu_visible();
  if (backend == "nccl") {
    agree(comm, [&] {
      TESSERA_REQUIRE(built, "--comm.backend=nccl: this build has no NCCL backend (it needs a CUDA LibTorch, "
                             "given with CMAKE_PREFIX_PATH, and NCCL)");
      TESSERA_REQUIRE(gpu, "--comm.backend=nccl: no GPU is visible to this process");
    });
  }
#ifdef TESSERA_HAVE_NCCL_BACKEND
  if (backend == "nccl" || (backend == "auto" && gpu))
    return agree(comm, [&] { return make_nccl_communicator(comm); });
#endif
  return make_mpi_communicator(comm);
}

}  // namespace tessera::comm
