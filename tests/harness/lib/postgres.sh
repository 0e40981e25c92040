# shellcheck shell=bash
# PostgreSQL 15 (Debian postgresql-15) in DIR/pg, password auth only.

: "${TL_HARNESS_PG_BIN:=/usr/lib/postgresql/15/bin}"

# initdb and postgres refuse to run as root: as root run them as the
# `postgres` OS user (created by the postgresql-common package).
_pg_as() {
  if (( EUID == 0 )); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

svc_postgres_start() {
  local d=$HARNESS_DIR/pg bin=$TL_HARNESS_PG_BIN port pass listen gw=${TL_TEST_DOCKER_GATEWAY:-}
  [[ -x $bin/initdb ]] || { warn "postgres: $bin/initdb missing (apt-get install postgresql-15)"; return 1; }
  port=$(free_port)
  pass=$(rand_hex 16)

  mkdir -p "$d/data" "$d/sock" "$d/log"
  (( EUID == 0 )) && chown -R postgres: "$d"
  chmod 0700 "$d/data"
  # The superuser password, readable by the postgres user only, for initdb.
  ( umask 077; printf '%s\n' "$pass" > "$d/pwfile" )
  (( EUID == 0 )) && chown postgres: "$d/pwfile"

  log "postgres: initdb"
  # --no-sync: a test cluster need not survive a power cut.
  if ! _pg_as "$bin/initdb" -D "$d/data" -U postgres --pwfile="$d/pwfile" \
        --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync \
        > "$d/log/initdb.log" 2>&1; then
    warn "postgres: initdb failed"; log_tail "$d/log/initdb.log"; return 1
  fi
  rm -f "$d/pwfile"

  # Containers reach the server through the docker bridge gateway, so listen
  # there too when docker is up.
  listen=127.0.0.1
  [[ -n $gw ]] && listen+=",$gw"
  cat >> "$d/data/postgresql.conf" <<EOF

# ---- libtowlion test harness ----
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$d/sock'
password_encryption = 'scram-sha-256'
# Tests grep the statement log.
log_statement = 'all'
log_connections = on
log_line_prefix = '%m [%p] %q%u@%d '
# Speed over durability: this cluster lives for one test run.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  cat > "$d/data/pg_hba.conf" <<'EOF'
# libtowlion test harness: passwords (SCRAM) everywhere, no trust, no peer.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
# docker bridge networks (containers reaching the gateway address)
host    all       all   172.16.0.0/12  scram-sha-256
EOF

  local logf=$d/log/postgresql.log
  log "postgres: starting on 127.0.0.1:$port${gw:+ and $gw:$port}"
  if ! _pg_as "$bin/pg_ctl" -D "$d/data" -l "$logf" -w -t "$TL_HARNESS_WAIT" start > "$d/log/pg_ctl.log" 2>&1; then
    warn "postgres: pg_ctl start failed"; log_tail "$d/log/pg_ctl.log"; log_tail "$logf"; return 1
  fi
  head -n1 "$d/data/postmaster.pid" > "$(pidfile postgres)"

  env_export TOWLION_PG_URL "postgresql://postgres:$pass@127.0.0.1:$port/postgres"
  env_export TOWLION_PG_APP_HOST "${gw:-127.0.0.1}:$port"
  env_export TL_TEST_PG_LOG "$logf"
  env_export TL_TEST_PG_BIN "$bin"

  wait_until "postgres" "$logf" "$(pid_of postgres)" \
    psql "$TOWLION_PG_URL" -XAtqc 'select 1' || return 1
}

svc_postgres_check() {
  local out
  out=$(psql "$TOWLION_PG_URL" -XAtqc 'show server_version' 2>&1) || { echo "${out//$'\n'/ }"; return 1; }
  echo "PostgreSQL $out at ${TOWLION_PG_URL##*@}, apps use $TOWLION_PG_APP_HOST"
}

svc_postgres_stop() {
  local d=$HARNESS_DIR/pg pid
  pid=$(pid_of postgres) || true
  [[ -z $pid && -s $d/data/postmaster.pid ]] && pid=$(head -n1 "$d/data/postmaster.pid")
  # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would wait for
  # every client to disconnect.
  [[ -n $pid ]] && stop_pid postgres "$pid" INT
  rm -f "$(pidfile postgres)"
}
