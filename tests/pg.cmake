# The pg module: names and URLs (unit), tenancy against the real
# PostgreSQL 15 of the harness (integration).
tl_unit_test(pg_names)
tl_integration_test(pg SERVICES)
