# kouryu-cli: its helpers, and the binary against the real servers.
kouryu_test(cli_output_test
  SOURCES cli/cli_output_test.cc
  LIBS kouryu_cli_lib)

kouryu_test(cli_test
  SOURCES cli/cli_test.cc
  LIBS kouryu_proto kouryu_process kouryu_generator nlohmann_json::nlohmann_json)
target_include_directories(cli_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(cli_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>"
  KOURYU_CLI_BIN="$<TARGET_FILE:kouryu-cli>")
add_dependencies(cli_test kouryu-ingest kouryu-query kouryu-cli)
