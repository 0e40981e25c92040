# shellcheck shell=bash
# The "server": a dockerd of its own, with its own data root, in a network
# namespace of its own, so it owns its docker0 and iptables next to the
# machine's other dockerd. Everything that runs "on the server" (towlion,
# curl, psql) runs in that namespace through `on_server`.
#
# The namespace is held by a process of its own (unshare ... sleep), not by
# dockerd: killing dockerd and starting it again (phase "restart dockerd")
# must find the same namespace, with its loopback and published ports.
#
# Needs: SERVER_DIR (all state under it).

server_holder_pid() { cat "$SERVER_DIR/netns.pid" 2>/dev/null; }

on_server() { nsenter -t "$(server_holder_pid)" -n -- "$@"; }

server_sock() { printf '%s\n' "$SERVER_DIR/docker/docker.sock"; }

server_ping() { curl -fsS --max-time 2 --unix-socket "$(server_sock)" http://docker/_ping > /dev/null 2>&1; }

# The namespace: a sleeping process in a fresh network namespace, loopback up.
server_netns_start() {
  mkdir -p "$SERVER_DIR"
  # The holder writes its own pid: `unshare --fork` ignores TERM, so the
  # sleeper (in the namespace) is what we enter and what we kill.
  rm -f "$SERVER_DIR/netns.pid"
  unshare --net --fork --kill-child -- \
    sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && exec sleep infinity' sh \
    "$SERVER_DIR/netns.pid" < /dev/null > /dev/null 2>&1 &
  local i
  for i in $(seq 50); do
    [[ -s $SERVER_DIR/netns.pid ]] && on_server ip link set lo up && return 0
    sleep 0.1
  done
  echo "e2e: cannot enter the server's network namespace" >&2
  return 1
}

# dockerd inside the namespace, all its state under SERVER_DIR/docker (the
# same data root across restarts). It starts its own containerd under the
# exec root.
server_dockerd_start() {
  local d=$SERVER_DIR/docker i
  mkdir -p "$d/root" "$d/exec"
  on_server dockerd \
    --data-root "$d/root" --exec-root "$d/exec" \
    -H "unix://$d/docker.sock" --pidfile "$d/dockerd.pid" \
    --default-address-pool base=172.20.0.0/14,size=24 \
    --log-level warn < /dev/null >> "$d/dockerd.log" 2>&1 &
  echo $! > "$d/nsenter.pid"
  for i in $(seq 300); do
    server_ping && return 0
    sleep 0.1
  done
  echo "e2e: the server's dockerd does not answer; last log lines:" >&2
  tail -n 20 "$d/dockerd.log" >&2
  return 1
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2> /dev/null; }

# Stop dockerd the way systemd does (TERM, then wait): its containers stop
# and, with restart policies, come back when it starts again.
server_dockerd_stop() {
  local d=$SERVER_DIR/docker pid i
  pid=$(cat "$d/dockerd.pid" 2> /dev/null) || true
  pid_alive "$pid" || return 0
  kill -TERM "$pid"
  for i in $(seq 600); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    echo "e2e: dockerd (pid $pid) did not stop in 60 s: killing it" >&2
    kill -KILL "$pid" 2> /dev/null || true
  fi
  # containerd, started by dockerd, stops with it; wait for it too so the
  # next dockerd does not find a half-dead one under the exec root.
  local cpid
  cpid=$(cat "$d/exec/containerd/containerd.pid" 2> /dev/null) || true
  for i in $(seq 100); do
    pid_alive "$cpid" || break
    sleep 0.1
  done
  if pid_alive "$cpid"; then kill -KILL "$cpid" 2> /dev/null || true; fi
  return 0
}

# Everything away: containers, dockerd (and its containerd), the namespace.
# Safe to call twice and after a failure anywhere.
server_destroy() {
  local d=$SERVER_DIR/docker ids
  if server_ping; then
    ids=$(docker -H "unix://$(server_sock)" ps -aq 2> /dev/null) || true
    # shellcheck disable=SC2086
    [[ -z $ids ]] || docker -H "unix://$(server_sock)" rm -f -v $ids > /dev/null 2>&1 || true
  fi
  server_dockerd_stop
  # Containers orphaned by a crashed dockerd: runc holds their state.
  local runc_root=$d/exec/runtime-runc/moby id
  if [[ -d $runc_root ]]; then
    for id in $(runc --root "$runc_root" list -q 2> /dev/null); do
      runc --root "$runc_root" delete --force "$id" > /dev/null 2>&1 || true
    done
  fi
  local holder
  holder=$(server_holder_pid) || true
  if pid_alive "$holder"; then kill "$holder" 2> /dev/null || true; fi
  rm -f "$SERVER_DIR/netns.pid"
  # Mounts dockerd left (overlay, shm) would make rm fail.
  local m
  for m in $(awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2> /dev/null || true
  done
  return 0
}
