# End-to-end: the real kouryu-ingest, kouryu-query and kouryu-cli binaries
# on loopback port 0 with temporary data directories.
kouryu_test(end_to_end_test
  SOURCES e2e/end_to_end_test.cc
  LIBS kouryu_proto kouryu_process)
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

# Mutual TLS, the per-method policy and the plaintext health port, on both
# real servers; certificates made by scripts/make-certs.sh at run time.
kouryu_test(security_test
  SOURCES e2e/security_test.cc
  LIBS kouryu_proto kouryu_tls kouryu_test_certs absl::synchronization)
target_include_directories(security_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(security_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>")
add_dependencies(security_test kouryu-ingest kouryu-query)
