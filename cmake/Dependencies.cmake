# Finds every dependency and reports what was found; stops with a clear message
# when something tessera cannot work without is missing or unsuitable.

find_package(MPI REQUIRED COMPONENTS C CXX)
find_package(ZLIB REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
# libsodium: MixNN's packets (sealed boxes, XChaCha20-Poly1305).
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM IMPORTED_TARGET libsodium)
if(NOT SODIUM_FOUND)
  message(FATAL_ERROR "libsodium not found: install libsodium-dev")
endif()
# Boost.Graph is header-only; the stream analysis uses it.
find_path(TESSERA_BOOST_GRAPH_INCLUDE boost/graph/adjacency_list.hpp HINTS ${Boost_INCLUDE_DIRS})
if(NOT TESSERA_BOOST_GRAPH_INCLUDE)
  message(FATAL_ERROR "Boost.Graph headers not found: install libboost-graph-dev")
endif()

# dlib's and LEMON's assignment solvers (header-only here), measured against
# tessera's own by `tessera bench assignment`.
find_path(TESSERA_DLIB_INCLUDE dlib/optimization/max_cost_assignment.h)
find_path(TESSERA_LEMON_INCLUDE lemon/network_simplex.h)
if(NOT TESSERA_DLIB_INCLUDE OR NOT TESSERA_LEMON_INCLUDE)
  message(FATAL_ERROR "dlib or LEMON headers not found: install libdlib-dev and liblemon-dev")
endif()

# Parallel HDF5: every output file can be written collectively by all ranks.
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR
    "The HDF5 found (${HDF5_C_INCLUDE_DIRS}) is serial; tessera needs parallel HDF5 "
    "built on MPI (Debian: libhdf5-openmpi-dev).")
endif()
add_library(tessera::hdf5 INTERFACE IMPORTED)
target_include_directories(tessera::hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(tessera::hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(tessera::hdf5 INTERFACE ${HDF5_C_DEFINITIONS} H5_USE_110_API)

find_package(Torch REQUIRED)
# LibTorch's at::parallel_for is a header template over `#pragma omp parallel`: code
# of ours that calls it runs on one thread unless it is itself compiled with OpenMP.
find_package(OpenMP REQUIRED COMPONENTS CXX)
set(TESSERA_HAVE_CUDA_TORCH OFF)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(TESSERA_HAVE_CUDA_TORCH ON)
endif()

# NCCL: searched in the CUDA toolkit; the GPU backend is built when both are there.
find_path(TESSERA_NCCL_INCLUDE nccl.h HINTS $ENV{NCCL_HOME}/include /usr/local/cuda/include)
find_library(TESSERA_NCCL_LIBRARY nccl HINTS $ENV{NCCL_HOME}/lib /usr/local/cuda/lib64)
set(TESSERA_HAVE_NCCL OFF)
if(TESSERA_NCCL_INCLUDE AND TESSERA_NCCL_LIBRARY)
  set(TESSERA_HAVE_NCCL ON)
endif()
find_path(TESSERA_CUDA_INCLUDE cuda_runtime.h HINTS $ENV{CUDA_HOME}/include /usr/local/cuda/include)
find_library(TESSERA_CUDART_LIBRARY cudart HINTS $ENV{CUDA_HOME}/lib64 /usr/local/cuda/lib64)

message(STATUS "tessera: MPI ${MPI_CXX_VERSION} (${MPIEXEC_EXECUTABLE})")
message(STATUS "tessera: parallel HDF5 ${HDF5_VERSION}")
message(STATUS "tessera: LibTorch ${Torch_VERSION}, CUDA: ${TESSERA_HAVE_CUDA_TORCH}")
message(STATUS "tessera: NCCL found: ${TESSERA_HAVE_NCCL} (${TESSERA_NCCL_INCLUDE}); CUDA runtime headers: ${TESSERA_CUDA_INCLUDE}")
if(TESSERA_HAVE_NCCL AND NOT TESSERA_HAVE_CUDA_TORCH)
  message(STATUS "tessera: LibTorch is CPU-only: the NCCL backend is compiled (checked) but not linked; "
                 "the service runs on the MPI backend")
endif()
