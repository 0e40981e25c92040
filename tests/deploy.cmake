# Releases against dockerd, PostgreSQL and Caddy (issue: releases).
tl_integration_test(deploy SERVICES TIMEOUT 900)
