# Tenant isolation, object storage: per-app users and keys against the
# harness's s3iam service (moto with IAM authentication on).
tl_integration_test(isolation_s3 SERVICES TIMEOUT 300)
# It also drives the towlion command.
add_dependencies(test_isolation_s3 towlion_cli)
