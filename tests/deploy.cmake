# Releases against dockerd, PostgreSQL and Caddy (issue: releases).
tl_integration_test(deploy SERVICES TIMEOUT 900)
tl_integration_test(deploy_network SERVICES TIMEOUT 300)
