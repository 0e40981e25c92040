# The redis module: names and URLs (unit), tenancy against the harness
# Redis 7 (integration).
tl_unit_test(redis_names)
tl_integration_test(redis SERVICES)
add_dependencies(test_redis towlion_cli)
