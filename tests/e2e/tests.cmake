# End-to-end: the real kouryu-ingest, kouryu-query and kouryu-cli binaries
# on loopback port 0 with temporary data directories.
kouryu_test(end_to_end_test
  SOURCES e2e/end_to_end_test.cc
  LIBS kouryu_proto kouryu_process)
target_include_directories(end_to_end_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(end_to_end_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>")
add_dependencies(end_to_end_test kouryu-ingest kouryu-query)

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

# Backups: AdminService under writes, the offline restore, and replicas
# that followed the old primary resyncing with the restored one.
kouryu_test(backup_test
  SOURCES e2e/backup_test.cc
  LIBS kouryu_proto kouryu_process kouryu_common)
target_include_directories(backup_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(backup_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>")
add_dependencies(backup_test kouryu-ingest kouryu-query)

# Operating: /metrics scraped over HTTP, the JSON log, channelz, the
# replica's lag gauges (a holding change feed between replica and ingest).
kouryu_test(observability_test
  SOURCES e2e/observability_test.cc
  LIBS kouryu_proto kouryu_process absl::synchronization absl::strings
       nlohmann_json::nlohmann_json)
target_include_directories(observability_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(observability_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>"
  KOURYU_CLI_BIN="$<TARGET_FILE:kouryu-cli>")
add_dependencies(observability_test kouryu-ingest kouryu-query kouryu-cli)

# Mutual TLS, the per-method policy and the plaintext health port, on both
# real servers; certificates made by scripts/make-certs.sh at run time.
kouryu_test(security_test
  SOURCES e2e/security_test.cc
  LIBS kouryu_proto kouryu_tls kouryu_test_certs absl::synchronization)
target_include_directories(security_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(security_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>"
  KOURYU_CLI_BIN="$<TARGET_FILE:kouryu-cli>")
add_dependencies(security_test kouryu-ingest kouryu-query kouryu-cli)

# kouryu-cli's reflection client against both real servers: one case per
# RPC of every service they offer, asserting on the parsed JSON.
kouryu_test(reflection_test
  SOURCES e2e/reflection_test.cc
  LIBS kouryu_proto kouryu_process absl::strings nlohmann_json::nlohmann_json)
target_include_directories(reflection_test PRIVATE "${PROJECT_SOURCE_DIR}")
target_compile_definitions(reflection_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>"
  KOURYU_CLI_BIN="$<TARGET_FILE:kouryu-cli>")
add_dependencies(reflection_test kouryu-ingest kouryu-query kouryu-cli)
