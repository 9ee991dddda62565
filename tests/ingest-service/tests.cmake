# Unit tests of ingest-service: reading tables, normalizing, the results
# HTML, the record codec, group commit, and the store on a real RocksDB in a
# temporary directory.

kouryu_test(table_reader_test SOURCES ingest-service/table_reader_test.cc LIBS kouryu_ingest)
kouryu_test(normalizer_test SOURCES ingest-service/normalizer_test.cc LIBS kouryu_ingest)
kouryu_test(results_html_test SOURCES ingest-service/results_html_test.cc LIBS kouryu_ingest)
kouryu_test(store_test SOURCES ingest-service/store_test.cc LIBS kouryu_ingest)
kouryu_test(record_limits_test SOURCES ingest-service/record_limits_test.cc
  LIBS kouryu_ingest kouryu_server)
kouryu_test(ingest_calls_test SOURCES ingest-service/ingest_calls_test.cc
  LIBS kouryu_ingest kouryu_server)
kouryu_test(power_loss_test SOURCES ingest-service/power_loss_test.cc
  LIBS kouryu_ingest kouryu_power_loss_fs)
kouryu_test(events_test SOURCES ingest-service/events_test.cc LIBS kouryu_ingest)
kouryu_test(group_commit_test SOURCES ingest-service/group_commit_test.cc LIBS kouryu_ingest)
kouryu_test(record_codec_test SOURCES ingest-service/record_codec_test.cc LIBS kouryu_ingest)
