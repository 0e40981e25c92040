# The shared helpers every module uses for one thing (issue 18, "one shape
# everywhere"): the clock, hex, URL encoding, digests.
tl_unit_test(shared_helpers)
# route add's options through the shared parser, without silent caps.
tl_cli_test(route_add)
