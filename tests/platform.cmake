# The platform module: layout, compose file, doctor, metrics, alerts, scan
# hook. Unit tests need no service (docker-compose, promtool and openssl
# run as programs); integration tests use the harness's dockerd, PostgreSQL
# and the GitHub stand-in.
tl_unit_test(platform)
# The CLI test in it runs the towlion command.
add_dependencies(test_platform towlion_cli)
# The shipped workflows parse as YAML (libyaml) and the units are sane.
tl_unit_test(platform_examples)
tl_integration_test(platform_services SERVICES TIMEOUT 600)

# alerts check: against the GitHub API stand-in and the mail API stand-in,
# both started here for these tests (fixture platform_standins), plus the
# harness's PostgreSQL and dockerd as measured sources.
set(TL_PLAT_HARNESS ${PROJECT_SOURCE_DIR}/tests/harness)
set(TL_PLAT_GH_DIR ${PROJECT_BINARY_DIR}/platform-github-standin)
set(TL_PLAT_MAIL_DIR ${PROJECT_BINARY_DIR}/platform-mail-standin)
add_test(NAME platform.standins.start
         COMMAND bash -c "\"$0/github-standin/stop\" \"$1\" && \"$0/github-standin/start\" \"$1\" >/dev/null && \"$0/mail-standin/stop\" \"$2\" && \"$0/mail-standin/start\" \"$2\" >/dev/null"
                 ${TL_PLAT_HARNESS} ${TL_PLAT_GH_DIR} ${TL_PLAT_MAIL_DIR})
add_test(NAME platform.standins.stop
         COMMAND bash -c "\"$0/github-standin/stop\" \"$1\"; \"$0/mail-standin/stop\" \"$2\""
                 ${TL_PLAT_HARNESS} ${TL_PLAT_GH_DIR} ${TL_PLAT_MAIL_DIR})
set_tests_properties(platform.standins.start PROPERTIES FIXTURES_SETUP platform_standins
                     LABELS integration TIMEOUT 60)
set_tests_properties(platform.standins.stop PROPERTIES FIXTURES_CLEANUP platform_standins
                     LABELS integration TIMEOUT 60)
add_executable(test_platform_alerts integration/test_platform_alerts.c)
target_link_libraries(test_platform_alerts PRIVATE tl_testsupport)
add_test(NAME integration.platform_alerts
         COMMAND ${TL_PLAT_HARNESS}/with-env ${TL_HARNESS_ENV}
                 ${TL_PLAT_HARNESS}/with-env ${TL_PLAT_GH_DIR}/env
                 ${TL_PLAT_HARNESS}/with-env ${TL_PLAT_MAIL_DIR}/env
                 $<TARGET_FILE:test_platform_alerts>)
set_tests_properties(integration.platform_alerts PROPERTIES
                     FIXTURES_REQUIRED "services;platform_standins" RESOURCE_LOCK services
                     LABELS integration TIMEOUT 300)
