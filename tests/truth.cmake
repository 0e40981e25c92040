# status and doctor tell the truth (issue 22): tests/truth/truth_test.py
# against the harness, with a Caddy of its own that it breaks and stops.
add_test(NAME integration.truth
  COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-env ${TL_HARNESS_ENV}
          /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/truth/truth_test.py
          $<TARGET_FILE:towlion_cli> ${PROJECT_BINARY_DIR}/bindings/python/python)
set_tests_properties(integration.truth PROPERTIES FIXTURES_REQUIRED services
  RESOURCE_LOCK services LABELS integration TIMEOUT 900 SKIP_RETURN_CODE 77)
