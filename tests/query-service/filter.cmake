kouryu_test(filter_test SOURCES query-service/filter_test.cc LIBS kouryu_query)
