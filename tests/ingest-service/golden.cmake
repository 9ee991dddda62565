kouryu_test(golden_test SOURCES ingest-service/golden_test.cc LIBS kouryu_ingest)
kouryu_test(import_table_test SOURCES ingest-service/import_table_test.cc
  LIBS kouryu_ingest kouryu_server ICU::uc)
