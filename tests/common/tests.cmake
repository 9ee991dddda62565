# Unit tests of the code both services share (common/).

kouryu_test(keys_test SOURCES common/keys_test.cc LIBS kouryu_common)
kouryu_test(coding_test SOURCES common/coding_test.cc LIBS kouryu_common protobuf::libprotobuf)
kouryu_test(text_test SOURCES common/text_test.cc LIBS kouryu_common)
kouryu_test(quote_test SOURCES common/quote_test.cc LIBS kouryu_common)
kouryu_test(gazetteer_test SOURCES common/gazetteer_test.cc LIBS kouryu_common)
kouryu_test(status_test SOURCES common/status_test.cc LIBS kouryu_common gRPC::grpc++)
kouryu_test(request_test SOURCES common/request_test.cc LIBS kouryu_request)
kouryu_test(server_test SOURCES common/server_test.cc LIBS kouryu_server gRPC::grpc++)
kouryu_test(authz_test SOURCES common/authz_test.cc LIBS kouryu_authz)
kouryu_test(tls_test SOURCES common/tls_test.cc LIBS kouryu_tls kouryu_test_certs)
