# Tenant isolation, bind mounts (docs/security.md, "Bind mounts"): the path
# walker on its own, and hostile previews against the real dockerd.
tl_unit_test(pathwalk)
tl_integration_test(isolation_binds SERVICES TIMEOUT 600)
