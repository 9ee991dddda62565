# The query service end to end in one process: generated rows through a real
# store and replica, served over a real gRPC server on port 0.
kouryu_test(query_service_test SOURCES query-service/query_service_test.cc LIBS kouryu_query kouryu_ingest kouryu_server kouryu_generator)
# The follower against a real ChangeFeed server on port 0: stalls are
# reported in status and health.
kouryu_test(follower_test SOURCES query-service/follower_test.cc LIBS kouryu_query kouryu_ingest kouryu_server)
# Pages of records too large for a full page in one response.
kouryu_test(large_pages_test SOURCES query-service/large_pages_test.cc LIBS kouryu_query kouryu_ingest kouryu_server)
# Search on the published table, through a real store, replica and server.
kouryu_test(search_test SOURCES query-service/search_test.cc LIBS kouryu_query kouryu_ingest kouryu_server)
# The query service over the published table: event_date ranges, summaries
# of matching events, names of cities and bureaus in parents and filters.
kouryu_test(published_table_test SOURCES query-service/published_table_test.cc LIBS kouryu_query kouryu_ingest kouryu_server)
