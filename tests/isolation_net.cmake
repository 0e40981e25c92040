# Tenant isolation, networks (docs/security.md "Networks"): a tenant per
# network, reserved names, platform internals out of reach, the upgrade
# from the flat network under load. Fixtures: tests/isolation/net/.
tl_integration_test(isolation_net SERVICES TIMEOUT 600)
tl_unit_test(isolation_net_layout)
