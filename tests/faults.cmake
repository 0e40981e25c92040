# The fault-injection suite (tests/faults/run, issue 22): every step of
# deploy, rollback, preview up/down, destroy, restore and a route change
# SIGKILLed exactly there (the TOWLION_TEST_PAUSE_AT hook), then the next
# command must settle it and the same operation converge, with nothing
# left behind; then every command with Caddy, PostgreSQL, Redis or dockerd
# unreachable. `tests/faults/run TOWLION --matrix docs/testing.md`
# regenerates the matrix in the docs.
add_test(NAME faults COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-env ${TL_HARNESS_ENV}
         /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/faults/run $<TARGET_FILE:towlion_cli>)
set_tests_properties(faults PROPERTIES FIXTURES_REQUIRED services RESOURCE_LOCK services
                     LABELS integration TIMEOUT 900 SKIP_RETURN_CODE 77
                     ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
