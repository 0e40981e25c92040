# Tenant isolation, object storage: per-app users and keys against the
# harness's s3iam service (moto with IAM authentication on).
tl_integration_test(isolation_s3 SERVICES TIMEOUT 300)
