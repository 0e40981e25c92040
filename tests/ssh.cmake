# SSH module: quoting (unit, round trip through real shells) and sessions
# against the harness's sshd (integration).
tl_unit_test(ssh_quote)
tl_integration_test(ssh SERVICES TIMEOUT 300)
