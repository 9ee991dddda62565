# examples/: the Python client run against the real servers, its stubs
# generated as docs/clients.md says (Debian's python3-grpcio and
# python3-grpc-tools under /usr/bin/python3).
add_test(NAME ExamplePythonClient
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/python_client_test.py
                 --repo ${PROJECT_SOURCE_DIR}
                 --ingest $<TARGET_FILE:kouryu-ingest> --query $<TARGET_FILE:kouryu-query>
                 --cli $<TARGET_FILE:kouryu-cli>)
set_tests_properties(ExamplePythonClient PROPERTIES TIMEOUT 180)
