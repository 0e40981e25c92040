# towlion server bootstrap (issue 20): option checks without a server
# (tests/cli/server_test.py); the real run is e2e.bootstrap (e2e.cmake).
tl_cli_test(server)
# The firewall's rules as written (lib/server/firewall.c): the SSH port given.
tl_unit_test(server_firewall)
