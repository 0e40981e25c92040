# Tests of the GitHub client: pure parts without services, and the client
# against the local GitHub API stand-in (tests/harness/github-standin),
# which this file starts for its own tests (fixture github_standin) so they
# need neither the rest of the harness nor its lock.
tl_unit_test(github)

set(TL_GH_STANDIN ${PROJECT_SOURCE_DIR}/tests/harness/github-standin)
set(TL_GH_STANDIN_DIR ${PROJECT_BINARY_DIR}/github-standin)
# stop first: a run that died may have left one running in the directory.
add_test(NAME github.standin.start COMMAND bash -c "\"$0/stop\" \"$1\" && \"$0/start\" \"$1\" >/dev/null"
         ${TL_GH_STANDIN} ${TL_GH_STANDIN_DIR})
add_test(NAME github.standin.stop COMMAND ${TL_GH_STANDIN}/stop ${TL_GH_STANDIN_DIR})
set_tests_properties(github.standin.start PROPERTIES FIXTURES_SETUP github_standin
                     LABELS integration TIMEOUT 60)
set_tests_properties(github.standin.stop PROPERTIES FIXTURES_CLEANUP github_standin
                     LABELS integration TIMEOUT 60)

add_executable(test_github_integration integration/test_github.c)
target_link_libraries(test_github_integration PRIVATE tl_testsupport)
add_test(NAME integration.github
         COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-env ${TL_GH_STANDIN_DIR}/env
                 $<TARGET_FILE:test_github_integration>)
set_tests_properties(integration.github PROPERTIES FIXTURES_REQUIRED github_standin
                     RESOURCE_LOCK github_standin LABELS integration TIMEOUT 300)
# test_cli runs the towlion command.
add_dependencies(test_github_integration towlion_cli)
