# shellcheck shell=bash
# Caddy 2 (Debian caddy 2.6) with its admin API on loopback and an empty
# sites/ directory that the library fills with <app>.caddy files.

svc_caddy_start() {
  local d=$HARNESS_DIR/caddy admin http https pid
  command -v caddy > /dev/null || { warn "caddy: caddy missing"; return 1; }
  admin=$(free_port); http=$(free_port); https=$(free_port)
  mkdir -p "$d/sites" "$d/home" "$d/data" "$d/config"

  # Notes on the global options:
  #  - default_bind 127.0.0.1: site blocks listen on loopback only (Caddy
  #    would otherwise take the ports on every interface);
  #  - auto_https disable_redirects: tests use plain HTTP (TOWLION_TLS=off) and
  #    must not be bounced to HTTPS;
  #  - skip_install_trust: never touch the machine's trust store;
  #  - `persist_config off` does not exist in Caddy 2.6.2 ("unrecognized global
  #    option"), so Caddy autosaves the live config to
  #    $XDG_CONFIG_HOME/caddy/autosave.json, which is inside DIR;
  #  - `import sites/*.caddy` is resolved relative to this file's directory; a
  #    glob that matches nothing only logs a warning.
  cat > "$d/Caddyfile" <<EOF
# libtowlion test harness
{
	admin 127.0.0.1:$admin
	default_bind 127.0.0.1
	http_port $http
	https_port $https
	auto_https disable_redirects
	skip_install_trust
}

import sites/*.caddy
EOF
  log "caddy: starting, admin on 127.0.0.1:$admin, http $http, https $https"
  # HOME and XDG_* inside DIR so that certificates, locks and autosave.json
  # never land in the real home directory.
  pid=$(cd "$d" && spawn "$d/caddy.log" \
          env HOME="$d/home" XDG_DATA_HOME="$d/data" XDG_CONFIG_HOME="$d/config" \
          caddy run --config "$d/Caddyfile" --adapter caddyfile --pidfile "$d/caddy.pid")
  echo "$pid" > "$(pidfile caddy)"

  env_export TOWLION_CADDY_ADMIN "http://127.0.0.1:$admin"
  env_export TOWLION_CADDY_DIR "$d"
  env_export TOWLION_HTTP_PORT "$http"
  env_export TOWLION_HTTPS_PORT "$https"
  env_export TOWLION_TLS off

  wait_until "caddy" "$d/caddy.log" "$pid" \
    curl -fsS --max-time 2 "$TOWLION_CADDY_ADMIN/config/" || return 1
}

svc_caddy_check() {
  curl -fsS --max-time 5 -o /dev/null "$TOWLION_CADDY_ADMIN/config/" 2>&1 || { echo "admin API does not answer"; return 1; }
  echo "admin $TOWLION_CADDY_ADMIN, http $TOWLION_HTTP_PORT, https $TOWLION_HTTPS_PORT, sites in $TOWLION_CADDY_DIR/sites"
}

svc_caddy_stop() {
  stop_service caddy TERM
}
