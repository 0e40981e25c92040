# Tests of the towlion command as a whole (tests/cli/*.py, Debian's Python,
# stdlib only). Unit: --help of every verb, usage errors, the generated man
# page and bash completion. Integration (the harness): --json documents
# against the schemas in docs/cli-json.md, --dry-run changing nothing, exit
# codes, progress on a terminal.
set(TL_PYTHON /usr/bin/python3)
set(TL_CLI_TESTS ${CMAKE_CURRENT_SOURCE_DIR}/cli)

function(tl_cli_test name)
  cmake_parse_arguments(T "SERVICES" "TIMEOUT" "ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set(cmd ${TL_PYTHON} ${TL_CLI_TESTS}/${name}_test.py $<TARGET_FILE:towlion_cli> ${T_ARGS})
  if(T_SERVICES)
    add_test(NAME cli.${name} COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-env
             ${TL_HARNESS_ENV} ${cmd})
    set_tests_properties(cli.${name} PROPERTIES FIXTURES_REQUIRED services
                         RESOURCE_LOCK services LABELS integration)
  else()
    add_test(NAME cli.${name} COMMAND ${cmd})
    set_tests_properties(cli.${name} PROPERTIES LABELS unit)
  endif()
  set_tests_properties(cli.${name} PROPERTIES TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77
                       ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endfunction()

tl_cli_test(help)
tl_cli_test(man ARGS ${PROJECT_BINARY_DIR}/towlion.1)
tl_cli_test(completion ARGS ${PROJECT_BINARY_DIR}/towlion.bash)
tl_cli_test(json SERVICES TIMEOUT 900)
tl_cli_test(dryrun SERVICES TIMEOUT 900)
tl_cli_test(exit_codes SERVICES TIMEOUT 900)
tl_cli_test(progress SERVICES TIMEOUT 600)
tl_cli_test(install ARGS ${PROJECT_BINARY_DIR})
set_tests_properties(cli.install PROPERTIES RESOURCE_LOCK cmake_install)
