# End-to-end: the real kouryu-ingest, kouryu-query and kouryu-cli binaries
# on loopback port 0 with temporary data directories.
kouryu_test(end_to_end_test
  SOURCES e2e/end_to_end_test.cc
  LIBS kouryu_proto kouryu_process nlohmann_json::nlohmann_json)
target_include_directories(end_to_end_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(end_to_end_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>"
  KOURYU_CLI_BIN="$<TARGET_FILE:kouryu-cli>")
add_dependencies(end_to_end_test kouryu-ingest kouryu-query kouryu-cli)

# Both real servers: every method's answer to an unparsable request, and
# health per service.
kouryu_test(server_contract_test
  SOURCES e2e/server_contract_test.cc
  LIBS kouryu_proto kouryu_process absl::synchronization)
target_include_directories(server_contract_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(server_contract_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>")
add_dependencies(server_contract_test kouryu-ingest kouryu-query)
