# Unit tests of query-service: the replica on a real RocksDB in a temporary
# directory, the search index's storage, page tokens and the call runner.

kouryu_test(replica_test SOURCES query-service/replica_test.cc LIBS kouryu_query)
kouryu_test(postings_test SOURCES query-service/postings_test.cc LIBS kouryu_query)
kouryu_test(page_token_test SOURCES query-service/page_token_test.cc LIBS kouryu_query)
kouryu_test(call_runner_test SOURCES query-service/call_runner_test.cc LIBS kouryu_query)
kouryu_test(search_text_test SOURCES query-service/search_text_test.cc LIBS kouryu_query)
kouryu_test(names_test SOURCES query-service/names_test.cc LIBS kouryu_query)
kouryu_test(replica_power_loss_test SOURCES query-service/replica_power_loss_test.cc
  LIBS kouryu_query kouryu_power_loss_fs)
# ListRecords and SummarizeRecords below gRPC: plans, pages
# and groups over a real replica, and responses built from stored records.
kouryu_test(list_records_test SOURCES query-service/list_records_test.cc LIBS kouryu_query)
kouryu_test(summarize_test SOURCES query-service/summarize_test.cc LIBS kouryu_query)
kouryu_test(record_wire_test SOURCES query-service/record_wire_test.cc LIBS kouryu_query)
# The follower against a scripted ChangeFeed on port 0: heads, a history
# that moved, streams that end and fail.
kouryu_test(follower_feed_test SOURCES query-service/follower_feed_test.cc LIBS kouryu_query)
kouryu_test(replica_layout_test SOURCES query-service/replica_layout_test.cc LIBS kouryu_query)
