kouryu_test(golden_test SOURCES ingest-service/golden_test.cc LIBS kouryu_ingest)
