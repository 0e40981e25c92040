# tl_status(): the platform at a glance (apps joined with their database,
# newest backup and previews) against the harness's PostgreSQL and Docker.
tl_integration_test(status SERVICES TIMEOUT 300)
