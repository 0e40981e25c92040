# Tenant isolation of restores and deep verifies (docs/security.md,
# "Restores and verification"): a hostile dump restored and verified
# without platform rights, restores killed at each step and repaired, a
# closed database reported by backup run, previews kept across a restore,
# no password in URL errors. Real PostgreSQL 15, pg_dump and pg_restore.
tl_integration_test(isolation_backup SERVICES TIMEOUT 600)
add_dependencies(test_isolation_backup towlion_cli)
