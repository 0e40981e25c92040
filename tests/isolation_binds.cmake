# Tenant isolation, bind mounts (docs/security.md, "Bind mounts"): the path
# walker and the copies a preview binds on their own, and hostile tenants
# against the real dockerd.
tl_unit_test(pathwalk)
tl_unit_test(bindsnap)
# one compose mount entry split for both deploy engines
tl_unit_test(mount_entry)
tl_integration_test(isolation_binds SERVICES TIMEOUT 600)
