# towlion.conf (issue 16): the layers of the configuration without services;
# `platform init` writing TOWLION_STATE_DIR/towlion.conf into a temp tree;
# the host's Caddy on the generated main Caddyfile, its admin API on a unix
# socket, driven by `towlion route`.
tl_unit_test(conf_layers)
tl_cli_test(conf_init)
tl_cli_test(conf_caddy TIMEOUT 120)
tl_integration_test(conf_answers SERVICES TIMEOUT 120)
