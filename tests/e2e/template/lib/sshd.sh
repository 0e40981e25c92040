# shellcheck shell=bash
# The server's OpenSSH: sshd on port 22 of the server's network namespace,
# with an ed25519 host key and one deploy key of its own, and a forwarder
# from a free port on the machine's loopback to it, where the runner (on
# the machine's network, which reaches Debian's mirror) connects.
#
# What /etc/towlion/towlion.conf says on a real server, this server says
# through sshd's SetEnv: the data and apps directories, the Docker socket,
# the domain and TLS mode, and a PATH whose first directory holds the
# towlion under test. Nothing else reaches a session from the test.
#
# Needs: SERVER_DIR, on_server (lib/server.sh of tests/e2e/server).

sshd_dir() { printf '%s\n' "$SERVER_DIR/sshd"; }

# Start sshd in the namespace. SETENV: "NAME=VALUE" words for SetEnv.
server_sshd_start() { # SETENV...
  local d i
  d=$(sshd_dir)
  mkdir -p "$d"
  chmod 0700 "$d"
  [[ -d /run/sshd ]] || mkdir -m 0755 /run/sshd
  rm -f "$d"/ssh_host_ed25519_key* "$d"/deploy_key*
  ssh-keygen -q -t ed25519 -N '' -C e2e-template-host -f "$d/ssh_host_ed25519_key" < /dev/null
  ssh-keygen -q -t ed25519 -N '' -C e2e-template-deploy -f "$d/deploy_key" < /dev/null
  install -m 0600 "$d/deploy_key.pub" "$d/authorized_keys"
  {
    echo "# tests/e2e/template: the server's sshd"
    echo "ListenAddress 127.0.0.1"
    echo "Port 22"
    echo "HostKey $d/ssh_host_ed25519_key"
    echo "PidFile $d/sshd.pid"
    echo "AuthorizedKeysFile $d/authorized_keys"
    echo "PubkeyAuthentication yes"
    echo "PasswordAuthentication no"
    echo "KbdInteractiveAuthentication no"
    echo "PermitRootLogin prohibit-password"
    echo "UsePAM no"
    echo "StrictModes no"
    echo "AllowUsers $(id -un)"
    echo "X11Forwarding no"
    echo "PrintMotd no"
    echo "LogLevel VERBOSE"
    printf 'SetEnv'
    printf ' "%s"' "$@"
    echo
  } > "$d/sshd_config"
  /usr/sbin/sshd -t -f "$d/sshd_config" || { echo "e2e: sshd refuses $d/sshd_config" >&2; return 1; }
  # By its absolute path: sshd re-executes itself.
  on_server /usr/sbin/sshd -D -e -f "$d/sshd_config" < /dev/null >> "$d/sshd.log" 2>&1 &
  echo $! > "$d/nsenter.pid"
  for i in $(seq 100); do
    [[ -s $d/sshd.pid ]] && on_server bash -c '</dev/tcp/127.0.0.1/22' 2> /dev/null && break
    sleep 0.1
  done
  [[ -s $d/sshd.pid ]] || { echo "e2e: sshd did not start; log:" >&2; tail -n 20 "$d/sshd.log" >&2; return 1; }

  # The forwarder: socat on the machine's loopback, one `nsenter ... socat`
  # into the namespace per connection.
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  setsid socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:nsenter -t $(server_holder_pid) -n socat STDIO TCP\\:127.0.0.1\\:22" \
    < /dev/null >> "$d/forward.log" 2>&1 &
  echo $! > "$d/forward.pid"
  echo "$port" > "$d/forward.port"
  for i in $(seq 50); do
    bash -c "</dev/tcp/127.0.0.1/$port" 2> /dev/null && break
    sleep 0.1
  done
  # What the app's repository keeps as secrets: where the server is, its
  # host key (strict checking) and the deploy key.
  awk -v hp="[127.0.0.1]:$port" '{ print hp, $1, $2 }' "$d/ssh_host_ed25519_key.pub" > "$d/known_hosts"
}

sshd_forward_port() { cat "$(sshd_dir)/forward.port"; }

# Both away; safe to call twice.
server_sshd_stop() {
  local d pid
  d=$(sshd_dir)
  for f in forward.pid sshd.pid; do
    pid=$(cat "$d/$f" 2> /dev/null) || continue
    pid_alive "$pid" && kill -TERM "$pid" 2> /dev/null
    rm -f "$d/$f"
  done
  return 0
}
