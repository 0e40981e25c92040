# shellcheck shell=bash
# Redis 7 (Debian redis-server) in DIR/redis, no persistence of data,
# ACL-protected, its users kept in an aclfile like the platform's redis.conf
# (so app users survive a restart: tests/harness/restart DIR redis).

svc_redis_start() {
  local d=$HARNESS_DIR/redis port pass bind gw=${TL_TEST_DOCKER_GATEWAY:-}
  command -v redis-server > /dev/null || { warn "redis: redis-server missing"; return 1; }
  port=$(free_port)
  pass=$(rand_hex 16)
  mkdir -p "$d"
  bind=127.0.0.1
  [[ -n $gw ]] && bind+=" $gw"
  # protected-mode only refuses non-loopback clients while the default user
  # has no password; ours has one, so it can stay on even with the gateway bind.
  # Users live in the aclfile (redis.conf may not also hold `user` lines):
  # the library's ACL SAVE writes app users there.
  ( umask 077; cat > "$d/redis.conf" <<CONF
# libtowlion test harness
bind $bind
port $port
protected-mode yes
daemonize no
pidfile $d/redis.pid
logfile $d/redis.log
dir $d
# no persistence: the data lives for one test run
save ""
appendonly no
aclfile $d/users.acl
CONF
  # The default user must authenticate, so a failed AUTH for another user can
  # never fall back to a passwordless default connection.
  printf 'user default on >%s ~* &* +@all\n' "$pass" > "$d/users.acl"
  )
  env_export TOWLION_REDIS_URL "redis://default:$pass@127.0.0.1:$port"
  env_export TOWLION_REDIS_APP_HOST "${gw:-127.0.0.1}:$port"
  log "redis: starting on 127.0.0.1:$port${gw:+ and $gw:$port}"
  _redis_launch
}

# Start redis-server on the configuration written by svc_redis_start.
_redis_launch() {
  local d=$HARNESS_DIR/redis pid
  pid=$(spawn "$d/redis.log" redis-server "$d/redis.conf")
  echo "$pid" > "$(pidfile redis)"
  wait_until "redis" "$d/redis.log" "$pid" _redis_ping || return 1
}

# Stop and start again with the same configuration, port and aclfile
# (the data is gone: there is no persistence).
svc_redis_restart() {
  stop_service redis TERM
  log "redis: restarting"
  _redis_launch
}

_redis_ping() {
  [[ $(redis-cli --no-auth-warning -u "$TOWLION_REDIS_URL" ping 2>&1) == PONG ]]
}

svc_redis_check() {
  local out
  out=$(redis-cli --no-auth-warning -u "$TOWLION_REDIS_URL" ping 2>&1)
  [[ $out == PONG ]] || { echo "${out//$'\n'/ }"; return 1; }
  echo "${TOWLION_REDIS_URL##*@}, apps use $TOWLION_REDIS_APP_HOST"
}

svc_redis_stop() {
  stop_service redis TERM
}
