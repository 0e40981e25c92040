# Limits on untrusted input (docs/security.md): bombs in tenant files and
# endless tenant output, without services (unit) and on the real dockerd.
tl_unit_test(isolation_caps_unit)
tl_integration_test(isolation_caps SERVICES TIMEOUT 900)
