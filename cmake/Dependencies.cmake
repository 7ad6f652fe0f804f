# Finds every dependency and reports what was found; stops with a clear message
# when something tessera cannot work without is missing or unsuitable.

find_package(MPI REQUIRED COMPONENTS C CXX)
find_package(ZLIB REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
# libsodium: MixNN's packets (sealed boxes, XChaCha20-Poly1305). Through
# pkg-config where there is one, else by its header and library (a machine that
# has only an unpacked prefix, as jobs/gpu-check.sh makes).
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(SODIUM IMPORTED_TARGET libsodium)
endif()
add_library(tessera::sodium INTERFACE IMPORTED)
if(TARGET PkgConfig::SODIUM)
  target_link_libraries(tessera::sodium INTERFACE PkgConfig::SODIUM)
else()
  find_path(TESSERA_SODIUM_INCLUDE sodium.h)
  find_library(TESSERA_SODIUM_LIBRARY sodium)
  if(NOT TESSERA_SODIUM_INCLUDE OR NOT TESSERA_SODIUM_LIBRARY)
    message(FATAL_ERROR "libsodium not found: install libsodium-dev")
  endif()
  target_include_directories(tessera::sodium INTERFACE ${TESSERA_SODIUM_INCLUDE})
  target_link_libraries(tessera::sodium INTERFACE ${TESSERA_SODIUM_LIBRARY})
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

# NCCL and the CUDA runtime. A LibTorch from the PyPI wheel loads the NCCL and
# cudart of its own nvidia-* wheels (site-packages/nvidia/...): the backend must
# use the same ones, since one process holds one libnccl.so.2, so they are
# searched there first; then NCCL_HOME/CUDA_HOME and the CUDA toolkit. The GPU
# backend is compiled when NCCL and the runtime headers are found.
set(TESSERA_TORCH_WHEEL_NVIDIA "")
if(TESSERA_HAVE_CUDA_TORCH AND Torch_DIR)
  get_filename_component(TESSERA_TORCH_WHEEL_NVIDIA "${Torch_DIR}/../../../../nvidia" ABSOLUTE)
endif()
find_path(TESSERA_NCCL_INCLUDE nccl.h
          HINTS ${TESSERA_TORCH_WHEEL_NVIDIA}/nccl/include $ENV{NCCL_HOME}/include /usr/local/cuda/include)
find_library(TESSERA_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR
             HINTS ${TESSERA_TORCH_WHEEL_NVIDIA}/nccl/lib $ENV{NCCL_HOME}/lib /usr/local/cuda/lib64)
set(TESSERA_HAVE_NCCL OFF)
if(TESSERA_NCCL_INCLUDE AND TESSERA_NCCL_LIBRARY)
  set(TESSERA_HAVE_NCCL ON)
endif()
find_path(TESSERA_CUDA_INCLUDE cuda_runtime.h
          HINTS ${TESSERA_TORCH_WHEEL_NVIDIA}/cu13/include ${TESSERA_TORCH_WHEEL_NVIDIA}/cuda_runtime/include
                $ENV{CUDA_HOME}/include /usr/local/cuda/include)
find_library(TESSERA_CUDART_LIBRARY NAMES cudart libcudart.so.13 libcudart.so.12 NAMES_PER_DIR
             HINTS ${TESSERA_TORCH_WHEEL_NVIDIA}/cu13/lib ${TESSERA_TORCH_WHEEL_NVIDIA}/cuda_runtime/lib
                   $ENV{CUDA_HOME}/lib64 /usr/local/cuda/lib64)
if(TESSERA_REQUIRE_CUDA AND NOT (TESSERA_HAVE_CUDA_TORCH AND TESSERA_HAVE_NCCL AND TESSERA_CUDA_INCLUDE
                                 AND TESSERA_CUDART_LIBRARY))
  message(FATAL_ERROR "TESSERA_REQUIRE_CUDA: a CUDA LibTorch (${TESSERA_HAVE_CUDA_TORCH}), NCCL "
                      "(${TESSERA_NCCL_INCLUDE}, ${TESSERA_NCCL_LIBRARY}) and the CUDA runtime "
                      "(${TESSERA_CUDA_INCLUDE}, ${TESSERA_CUDART_LIBRARY}) are all needed")
endif()

message(STATUS "tessera: MPI ${MPI_CXX_VERSION} (${MPIEXEC_EXECUTABLE})")
message(STATUS "tessera: parallel HDF5 ${HDF5_VERSION}")
message(STATUS "tessera: LibTorch ${Torch_VERSION}, CUDA: ${TESSERA_HAVE_CUDA_TORCH}")
message(STATUS "tessera: NCCL found: ${TESSERA_HAVE_NCCL} (${TESSERA_NCCL_LIBRARY}); CUDA runtime: ${TESSERA_CUDA_INCLUDE} ${TESSERA_CUDART_LIBRARY}")
if(TESSERA_HAVE_NCCL AND NOT TESSERA_HAVE_CUDA_TORCH)
  message(STATUS "tessera: LibTorch is CPU-only: the NCCL backend is compiled (checked) but not linked; "
                 "the service runs on the MPI backend")
endif()
