# towlion server bootstrap (issue 20): option checks without a server
# (tests/cli/server_test.py); the real run is e2e.bootstrap (e2e.cmake).
tl_cli_test(server)
