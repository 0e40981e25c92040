# The platform module: layout, compose file, doctor, metrics, alerts, scan
# hook. Unit tests need no service (docker-compose, promtool and openssl
# run as programs); integration tests use the harness's dockerd, PostgreSQL
# and the GitHub stand-in.
tl_unit_test(platform)
tl_integration_test(platform_services SERVICES TIMEOUT 600)
