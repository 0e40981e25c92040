# towlion env: an app's own settings and secrets (lib/appenv, cli/cmd_env.c).
# The CLI test deploys behind a private Caddy, restarts under a client
# loop, opens a preview and goes through --host over the harness's sshd.
tl_cli_test(env SERVICES TIMEOUT 900)
tl_unit_test(appenv_keys)
