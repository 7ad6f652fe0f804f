# The libFuzzer harnesses of tests/fuzz (option TESSERA_FUZZ, default OFF; driven by
# tests/fuzz/run.sh). A fuzz build folder holds only these targets: the top-level
# CMakeLists.txt includes this file after finding the dependencies and stops there.
#
#   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DTESSERA_FUZZ=ON
#   cmake --build build-fuzz -j 2
#
# The reader sources are compiled again here with -fsanitize=fuzzer-no-link,address
# (coverage and ASan), into two small libraries: one without LibTorch (data
# readers, job-file parser, HDF5 wrapper, stream traces and their views) and one
# with it (model files, checkpoints). The harnesses link with
# -fsanitize=fuzzer,address. The LibTorch sources get a precompiled <torch/torch.h>
# of their own (clang's, built with these flags; the main build's is GCC's): parsing
# it is half of each one's compile time.

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "TESSERA_FUZZ needs clang with libFuzzer: configure a separate folder with "
                      "CC=clang-14 CXX=clang++-14 (tests/fuzz/run.sh does)")
endif()

set(TESSERA_FUZZ_COMPILE -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer -gline-tables-only -O1)
set(TESSERA_FUZZ_LINK -fsanitize=fuzzer,address)

# output_file.cpp (linked in with the checkpoint reader) includes the version header.
set(TESSERA_GIT_REVISION "fuzz")
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.hpp.in
               ${CMAKE_CURRENT_BINARY_DIR}/generated/tessera_version.hpp @ONLY)

set(_src ${CMAKE_CURRENT_LIST_DIR}/../src)
add_library(tessera_fuzz_base STATIC
  ${_src}/core/error.cpp
  ${_src}/core/log.cpp
  ${_src}/core/partial_files.cpp
  ${_src}/core/rng.cpp
  ${_src}/core/config.cpp
  ${_src}/data/gzip_file.cpp
  ${_src}/data/idx.cpp
  ${_src}/data/cifar.cpp
  ${_src}/io/h5.cpp
  ${_src}/io/h5_attr.cpp
  ${_src}/io/h5_dataset.cpp
  ${_src}/io/output_file.cpp
  ${_src}/trace/reader.cpp
  ${_src}/streams/view.cpp
  ${_src}/streams/division.cpp
  ${_src}/mixnn/packet.cpp
)
target_include_directories(tessera_fuzz_base PUBLIC ${_src} ${CMAKE_CURRENT_BINARY_DIR}/generated)
target_link_libraries(tessera_fuzz_base PUBLIC MPI::MPI_CXX tessera::hdf5 Boost::program_options ZLIB::ZLIB
                      tessera::sodium)
target_compile_options(tessera_fuzz_base PRIVATE ${TESSERA_FUZZ_COMPILE})

add_library(tessera_fuzz_torch STATIC
  ${_src}/models/model_file.cpp
  ${_src}/models/registry.cpp
  ${_src}/models/mlp.cpp
  ${_src}/models/vgg.cpp
  ${_src}/search/checkpoint.cpp
)
target_link_libraries(tessera_fuzz_torch PUBLIC tessera_fuzz_base ${TORCH_LIBRARIES})
target_compile_options(tessera_fuzz_torch PRIVATE ${TESSERA_FUZZ_COMPILE})
target_precompile_headers(tessera_fuzz_torch PRIVATE <torch/torch.h>)

set(TESSERA_FUZZERS)
function(tessera_fuzzer name library)
  add_executable(fuzz_${name} ${CMAKE_CURRENT_LIST_DIR}/../tests/fuzz/fuzz_${name}.cpp)
  target_link_libraries(fuzz_${name} PRIVATE ${library})
  target_compile_options(fuzz_${name} PRIVATE ${TESSERA_FUZZ_COMPILE})
  target_link_options(fuzz_${name} PRIVATE ${TESSERA_FUZZ_LINK})
  if(library STREQUAL "tessera_fuzz_torch")
    target_precompile_headers(fuzz_${name} REUSE_FROM tessera_fuzz_torch)
  endif()
  set(TESSERA_FUZZERS ${TESSERA_FUZZERS} fuzz_${name} PARENT_SCOPE)
endfunction()

tessera_fuzzer(idx tessera_fuzz_base)
tessera_fuzzer(cifar tessera_fuzz_base)
tessera_fuzzer(config tessera_fuzz_base)
tessera_fuzzer(model_file tessera_fuzz_torch)
tessera_fuzzer(checkpoint tessera_fuzz_torch)
tessera_fuzzer(trace tessera_fuzz_base)
tessera_fuzzer(packet tessera_fuzz_base)
message(STATUS "tessera: fuzz build (clang ${CMAKE_CXX_COMPILER_VERSION}): ${TESSERA_FUZZERS}")
