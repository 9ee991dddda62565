# deploy/: the Kubernetes manifests, rendered and checked (seconds), and the
# images run under podman kube play (minutes, root only). Off in the
# sanitize preset: nothing here is compiled, and the podman run is once per
# CI run.
option(KOURYU_DEPLOY_TESTS "Test deploy/ (kubectl kustomize, podman)" ON)
if(KOURYU_DEPLOY_TESTS)
  set(_deploy_bins
      --ingest $<TARGET_FILE:kouryu-ingest> --query $<TARGET_FILE:kouryu-query>
      --cli $<TARGET_FILE:kouryu-cli>)
  add_test(NAME DeployManifests
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/check_manifests.py
                   --repo ${PROJECT_SOURCE_DIR} ${_deploy_bins}
                   --fixtures ${CMAKE_CURRENT_LIST_DIR}/bad_fixtures.yaml)
  set_tests_properties(DeployManifests PROPERTIES LABELS deploy TIMEOUT 120)
  add_test(NAME DeployPodmanKubePlay
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/kube_play_test.py
                   --repo ${PROJECT_SOURCE_DIR} --cli $<TARGET_FILE:kouryu-cli>)
  # Builds images from the release binaries; one podman user at a time.
  set_tests_properties(DeployPodmanKubePlay PROPERTIES
                       LABELS "deploy;podman" TIMEOUT 600 RESOURCE_LOCK podman)
endif()
