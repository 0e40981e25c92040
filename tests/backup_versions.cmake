# Dump tools of the server's own major version (issue 16): a PostgreSQL 17
# container labelled as the platform's, the host's client 15; backup,
# deep verify and restore through docker exec of the container's tools,
# no password in docker inspect, refusals that change nothing. Needs the
# PostgreSQL 17 image (TL_TEST_PG17_IMAGE, made by tests/images/build).
tl_integration_test(backup_versions SERVICES TIMEOUT 900)
