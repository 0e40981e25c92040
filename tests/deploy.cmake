# Releases against dockerd, PostgreSQL and Caddy (issue: releases).
# 15 tests, about 400 s on an idle 2-core machine; the CI run (load 16,
# two-node swarm suites beside it) took more than 900 s to reach test 9.
tl_integration_test(deploy SERVICES TIMEOUT 1800)
tl_integration_test(deploy_network SERVICES TIMEOUT 300)
# compose secrets: files at /run/secrets from the app's values (issue 19)
tl_integration_test(secrets SERVICES TIMEOUT 300)
