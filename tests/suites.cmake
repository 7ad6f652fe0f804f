# Every suite and how many ranks each runs on. Labels: quick (seconds), slow.

# --- io (HDF5 wrappers)
tessera_test_binary(test_h5 SOURCES test_h5.cpp)
tessera_add_rank_tests(h5 test_h5 RANKS 1 2 3)
# --- end io

# --- data (readers)
tessera_test_binary(test_readers SOURCES test_readers.cpp)
tessera_add_test(readers test_readers 1 LABELS quick)
# --- end data

# --- core, models, blocks, train, cli
tessera_test_binary(test_models TORCH SOURCES test_models.cpp)
tessera_add_test(models test_models 1 LABELS quick)
tessera_test_binary(test_blocks TORCH SOURCES test_blocks.cpp)
tessera_add_rank_tests(blocks test_blocks RANKS 1 3)
tessera_test_binary(test_model_file TORCH SOURCES test_model_file.cpp)
tessera_add_rank_tests(model_file test_model_file RANKS 2 3)
tessera_test_binary(test_train TORCH SOURCES test_train.cpp)
tessera_add_test(train_1rank test_train 1 LABELS quick)
tessera_add_rank_tests(train test_train RANKS 2 3 ARGS --gtest_filter=Train.DataParallel*)
tessera_test_binary(test_config SOURCES test_config.cpp)
tessera_add_test(config test_config 1 LABELS quick)
tessera_test_binary(test_threshold SOURCES test_threshold.cpp)
tessera_add_test(threshold test_threshold 1 LABELS quick)
tessera_test_binary(test_search_ops SOURCES test_search_ops.cpp)
tessera_add_test(search_ops test_search_ops 1 LABELS quick)
tessera_test_binary(test_assignment SOURCES test_assignment.cpp)
tessera_add_test(assignment test_assignment 1 LABELS quick)
tessera_test_binary(test_streams SOURCES test_streams.cpp)
tessera_add_test(streams test_streams 1 LABELS quick)
tessera_test_binary(test_obfuscation SOURCES test_obfuscation.cpp)
tessera_add_test(obfuscation test_obfuscation 1 LABELS quick)
tessera_test_binary(test_eavesdroppers SOURCES test_eavesdroppers.cpp)
tessera_add_test(eavesdroppers test_eavesdroppers 1 LABELS quick)
tessera_test_binary(test_mixnn_packet SOURCES test_mixnn_packet.cpp)
tessera_add_test(mixnn_packet test_mixnn_packet 1 LABELS quick)
tessera_test_binary(test_mixnn_wire TORCH SOURCES test_mixnn_wire.cpp)
tessera_add_test(mixnn_wire test_mixnn_wire 1 LABELS quick)
tessera_test_binary(test_mixnn_cascade TORCH SOURCES test_mixnn_cascade.cpp)
tessera_add_test(mixnn_cascade test_mixnn_cascade 6)
tessera_test_binary(test_mixnn_extraction TORCH SOURCES test_mixnn_extraction.cpp)
tessera_add_test(mixnn_extraction test_mixnn_extraction 1)
tessera_test_binary(test_rng SOURCES test_rng.cpp)
tessera_add_test(rng test_rng 1 LABELS quick)
tessera_add_script_test(cli_bad_input bad_input.sh)
tessera_test_binary(test_service TORCH SOURCES test_service.cpp)
tessera_add_rank_tests(service test_service RANKS 1 2 3 4)
tessera_test_binary(test_trace TORCH SOURCES test_trace.cpp)
tessera_add_rank_tests(trace test_trace RANKS 1 2)
tessera_test_binary(test_sweeps TORCH SOURCES test_sweeps.cpp)
tessera_add_test(sweeps test_sweeps 1 LABELS quick)
tessera_test_binary(test_fitness TORCH SOURCES test_fitness.cpp)
tessera_add_test(fitness test_fitness 1 LABELS quick)
tessera_test_binary(test_layer_unknown TORCH SOURCES test_layer_unknown.cpp)
tessera_add_test(layer_unknown test_layer_unknown 1 LABELS quick)
tessera_add_script_test(cli_serve serve.sh)
tessera_add_script_test(cli_sweeps sweeps.sh)
tessera_add_script_test(cli_slurm slurm.sh)
tessera_add_script_test(cli_attack attack.sh)
tessera_add_script_test(cli_attack_resume attack_resume.sh)
tessera_add_script_test(cli_attack_layers attack_layers.sh)
tessera_add_script_test(cli_surrogate surrogate.sh)
tessera_add_script_test(cli_streams streams.sh)
tessera_add_script_test(cli_obfuscate obfuscate.sh)
tessera_add_script_test(cli_finetune finetune.sh)
tessera_add_script_test(cli_study study.sh)
tessera_add_script_test(cli_mixnn mixnn.sh)
tessera_add_script_test(cli_gpu_check gpu_check.sh)
tessera_add_script_test(cli_analysis_errors analysis_errors.sh)
tessera_add_script_test(cli_bench bench.sh)
# The README stays short and every link of README.md and docs/ resolves.
add_test(NAME docs COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/docs_check.py ${CMAKE_SOURCE_DIR})
set_tests_properties(docs PROPERTIES LABELS quick)
# src/ is layered: no folder includes one at its level or above (no cycle).
add_test(NAME layering COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/layering_check.py ${CMAKE_SOURCE_DIR})
set_tests_properties(layering PROPERTIES LABELS quick)
# docs/usage.md's commands and shared options agree with the binary's --help.
add_test(NAME docs_options COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/options_check.py ${CMAKE_SOURCE_DIR}
                                   $<TARGET_FILE:tessera>)
set_tests_properties(docs_options PROPERTIES LABELS quick ENVIRONMENT "${TESSERA_TEST_ENV}")
# docs/measured.md's benchmark tables are those of the files in docs/bench/.
add_test(NAME docs_measured COMMAND bash -c "/usr/bin/python3 analysis/bench_table.py docs/bench/*.h5 --check docs/measured.md"
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(docs_measured PROPERTIES LABELS quick)
# --- end core

# --- cuda: what a CUDA build (cmake/build-cuda.sh) shows without a GPU; `ctest -L cuda`
# in build-cuda/ (tests/run.sh runs it when that folder exists).
if(TESSERA_HAVE_CUDA_TORCH)
  tessera_add_script_test(cli_cuda cuda.sh)
  set_tests_properties(cli_cuda PROPERTIES LABELS cuda)
endif()
# --- end cuda

# --- fuzz: the libFuzzer harnesses of tests/fuzz, 5 s each on their seed corpus, in
# their own clang build (build-fuzz/, made by tests/run.sh before ctest; run alone, the
# test installs clang and libFuzzer and builds it first): a smoke run that every
# harness builds, loads its corpus and keeps its promises. About 50 s once built,
# started first; leave it out with `ctest -LE fuzz`. Long runs have their own command:
# `bash tests/fuzz/run.sh 600`.
add_test(NAME fuzz COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.sh 5)
set_tests_properties(fuzz PROPERTIES LABELS fuzz TIMEOUT 900 COST 100000 ENVIRONMENT "${TESSERA_TEST_ENV}")
# --- end fuzz

# The longest tests start first (seconds on the 2-core machine, ctest -j 2), so that
# the two slots finish together; ctest keeps its own measured costs after a first run.
foreach(test_cost cli_attack_resume=300 cli_study=215 cli_attack=195 cli_mixnn=190 cli_slurm=140 cli_sweeps=110
                  cli_attack_layers=100 cli_surrogate=93 cli_streams=76 cli_finetune=51 cli_bad_input=49
                  cli_obfuscate=38 cli_serve=31 cli_analysis_errors=31)
  string(REPLACE "=" ";" test_cost ${test_cost})
  list(GET test_cost 0 test_name)
  list(GET test_cost 1 seconds)
  set_tests_properties(${test_name} PROPERTIES COST ${seconds})
endforeach()

# Both start a one-node Slurm (slurm/local-cluster.sh): one at a time.
set_tests_properties(cli_slurm cli_study PROPERTIES RESOURCE_LOCK local_slurm)
