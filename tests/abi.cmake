# The ABI promise (docs/abi.md), held by tests rather than care.
#
# abi.old_caller: a program with a version-1 options struct of its own
# (tl_docker_exec_options, which grew to version 2), linked to the shared
# library as a real program is; the struct sits at the end of a page with an
# unreadable page after it, so a byte read or written past version 1 kills
# the test. Its docker variant runs a command through that struct.
# (tl_test.c compiled in: tl_testsupport carries the library statically.)
add_executable(test_abi_old_caller abi/test_old_caller.c support/tl_test.c)
target_link_libraries(test_abi_old_caller PRIVATE towlion PkgConfig::CMOCKA PkgConfig::CURL)
target_include_directories(test_abi_old_caller PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/support)
target_compile_definitions(test_abi_old_caller PRIVATE _GNU_SOURCE)
target_compile_options(test_abi_old_caller PRIVATE ${TL_WARNINGS})
add_test(NAME unit.abi_old_caller COMMAND test_abi_old_caller)
set_tests_properties(unit.abi_old_caller PROPERTIES LABELS unit TIMEOUT 60)
add_test(NAME integration.abi_old_caller
  COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-env ${TL_HARNESS_ENV}
          $<TARGET_FILE:test_abi_old_caller> docker)
set_tests_properties(integration.abi_old_caller PROPERTIES LABELS integration TIMEOUT 120
                     FIXTURES_REQUIRED services RESOURCE_LOCK services)

# build.abi: the built library against the ABI baseline abi/libtowlion0.abi
# (abidiff; scripts/abi-check). build.abi_policy: which changes that check
# lets through, tried on a small library of its own.
add_test(NAME build.abi COMMAND ${PROJECT_SOURCE_DIR}/scripts/abi-check $<TARGET_FILE:towlion>)
add_test(NAME build.abi_policy COMMAND ${PROJECT_SOURCE_DIR}/tests/scripts/abi-policy
         ${CMAKE_C_COMPILER})
set_tests_properties(build.abi build.abi_policy PROPERTIES LABELS "unit;build" TIMEOUT 120)

# build.options_inits: every versioned options struct has its _init() and is
# in abi.old_caller's table.
add_test(NAME build.options_inits COMMAND ${PROJECT_SOURCE_DIR}/tests/scripts/options-inits)
set_tests_properties(build.options_inits PROPERTIES LABELS "unit;build" TIMEOUT 60)
