# Fault tests: the real binaries killed, restarted, starved of disk and
# overloaded, on loopback with temporary directories. Bounded in time.
kouryu_test(fault_test
  SOURCES faults/fault_test.cc
  LIBS kouryu_proto kouryu_process kouryu_generator)
target_compile_definitions(fault_test PRIVATE
  KOURYU_INGEST_BIN="$<TARGET_FILE:kouryu-ingest>"
  KOURYU_QUERY_BIN="$<TARGET_FILE:kouryu-query>")
add_dependencies(fault_test kouryu-ingest kouryu-query)
