# Every suite and how many ranks each runs on. Labels: quick (seconds), slow.

# --- io (HDF5 wrappers)
tessera_test_binary(test_h5 SOURCES test_h5.cpp)
tessera_add_test(h5_1rank test_h5 1 LABELS quick)
tessera_add_test(h5_2ranks test_h5 2 LABELS quick)
tessera_add_test(h5_3ranks test_h5 3 LABELS quick)
# --- end io

# --- data (readers)
tessera_test_binary(test_readers SOURCES test_readers.cpp)
tessera_add_test(readers test_readers 1 LABELS quick)
# --- end data

# --- core, models, blocks, train, cli
tessera_test_binary(test_models TORCH SOURCES test_models.cpp)
tessera_add_test(models test_models 1 LABELS quick)
tessera_test_binary(test_blocks TORCH SOURCES test_blocks.cpp)
tessera_add_test(blocks_1rank test_blocks 1 LABELS quick)
tessera_add_test(blocks_3ranks test_blocks 3 LABELS quick)
tessera_test_binary(test_model_file TORCH SOURCES test_model_file.cpp)
tessera_add_test(model_file_2ranks test_model_file 2 LABELS quick)
tessera_add_test(model_file_3ranks test_model_file 3 LABELS quick)
tessera_test_binary(test_train TORCH SOURCES test_train.cpp)
tessera_add_test(train_1rank test_train 1 LABELS quick)
tessera_add_test(train_2ranks test_train 2 LABELS quick ARGS --gtest_filter=Train.DataParallel*)
tessera_add_test(train_3ranks test_train 3 LABELS quick ARGS --gtest_filter=Train.DataParallel*)
tessera_test_binary(test_config SOURCES test_config.cpp)
tessera_add_test(config test_config 1 LABELS quick)
add_test(NAME cli_bad_input
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/bad_input.sh $<TARGET_FILE:tessera> ${MPIEXEC_EXECUTABLE})
set_tests_properties(cli_bad_input PROPERTIES ENVIRONMENT "${TESSERA_TEST_ENV}" LABELS quick TIMEOUT 900)
tessera_test_binary(test_service TORCH SOURCES test_service.cpp)
tessera_add_test(service_1rank test_service 1 LABELS quick)
tessera_add_test(service_2ranks test_service 2 LABELS quick)
tessera_add_test(service_3ranks test_service 3 LABELS quick)
tessera_add_test(service_4ranks test_service 4 LABELS quick)
tessera_test_binary(test_trace TORCH SOURCES test_trace.cpp)
tessera_add_test(trace_1rank test_trace 1 LABELS quick)
tessera_add_test(trace_2ranks test_trace 2 LABELS quick)
tessera_test_binary(test_threat TORCH SOURCES test_threat.cpp)
tessera_add_test(threat test_threat 1 LABELS quick)
add_test(NAME cli_serve COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/serve.sh $<TARGET_FILE:tessera> ${MPIEXEC_EXECUTABLE})
set_tests_properties(cli_serve PROPERTIES ENVIRONMENT "${TESSERA_TEST_ENV}" LABELS quick TIMEOUT 900)
add_test(NAME cli_sweeps COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/sweeps.sh $<TARGET_FILE:tessera> ${MPIEXEC_EXECUTABLE})
set_tests_properties(cli_sweeps PROPERTIES ENVIRONMENT "${TESSERA_TEST_ENV}" LABELS quick TIMEOUT 900)
# --- end core
