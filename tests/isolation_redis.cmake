# Tenant isolation in the shared Redis (docs/security.md, "Redis"): every
# cross-tenant command tried as a tenant against the harness's Redis 7,
# reserved and foreign user names, users surviving a restart of Redis.
tl_integration_test(isolation_redis SERVICES TIMEOUT 300)
add_dependencies(test_isolation_redis towlion_cli)
# Smaller leaks (docs/security.md, "Smaller leaks closed"): config masking
# and errors, alert mail over http, terminal escapes from tenants, the PR
# comment's author, non-POSIX login shells over SSH.
tl_integration_test(isolation_leaks SERVICES TIMEOUT 300)
add_dependencies(test_isolation_leaks towlion_cli)
