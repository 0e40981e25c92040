# The backup module: names, manifests, retention, container format and
# keys (unit); backup / verify / prune / restore against the harness's
# PostgreSQL 15 and S3 (integration).
tl_unit_test(backup_format)
tl_integration_test(backup SERVICES TIMEOUT 600)
