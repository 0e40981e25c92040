# Strict input and leaving nothing behind (issue 22, part 3): the number
# parsers, env-file errors that quote nothing, escaped terminal output,
# atomic app destroy and refusing tenancy for unregistered names.
tl_unit_test(parse)
tl_integration_test(destroy SERVICES TIMEOUT 900)
tl_unit_test(lock_discard)
# The CLI: escaped output, strict numbers that change nothing, env-file
# errors that quote nothing (no services); tenancy for unregistered names
# and destroy refusing with a service down (the harness).
tl_cli_test(strict)
tl_cli_test(strict_services SERVICES TIMEOUT 600)
