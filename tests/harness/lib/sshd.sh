# shellcheck shell=bash
# OpenSSH sshd on 127.0.0.1 with its own ed25519 host key and one client key.
# It uses only its own config (not /etc/ssh/sshd_config) and its own
# authorized_keys file, so the machine's real SSH setup is never involved.

svc_sshd_start() {
  local d=$HARNESS_DIR/sshd port pid user
  [[ -x /usr/sbin/sshd ]] || { warn "sshd: /usr/sbin/sshd missing (apt-get install openssh-server)"; return 1; }
  port=$(free_port)
  user=$(id -un)
  mkdir -p "$d"
  chmod 0700 "$d"
  # Privilege separation directory that sshd insists on.
  if (( EUID == 0 )) && [[ ! -d /run/sshd ]]; then mkdir -m 0755 /run/sshd; fi

  ssh-keygen -q -t ed25519 -N '' -C "towlion-harness-host" -f "$d/ssh_host_ed25519_key" < /dev/null
  ssh-keygen -q -t ed25519 -N '' -C "towlion-harness-client" -f "$d/id_ed25519" < /dev/null
  install -m 0600 "$d/id_ed25519.pub" "$d/authorized_keys"
  # known_hosts for a non-standard port uses the [host]:port form.
  awk -v hp="[127.0.0.1]:$port" '{print hp, $1, $2}' "$d/ssh_host_ed25519_key.pub" > "$d/known_hosts"

  # A second login whose shell is fish, which does not read command lines
  # the POSIX way: the ssh module must refuse to run anything through it.
  # (A system user without home, the same client key; its password is
  # '*', which matches nothing but, unlike useradd's '!', is not "locked"
  # for sshd.)
  local fish_user=''
  if (( EUID == 0 )) && [[ -x /usr/bin/fish ]]; then
    fish_user=towlion-fish
    { id -u "$fish_user" > /dev/null 2>&1 ||
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/bin/fish \
          "$fish_user"; } && usermod -p '*' "$fish_user" || fish_user=''
  fi

  cat > "$d/sshd_config" <<EOF
# libtowlion test harness
ListenAddress 127.0.0.1
Port $port
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
# DIR lives under /tmp, whose permissions StrictModes would reject.
StrictModes no
AllowUsers $user${fish_user:+ $fish_user}
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
  if [[ -n $fish_user ]]; then
    # sshd reads the keys as the user: a copy it may reach and read (a
    # public key), outside the 0700 sshd directory.
    mkdir -p "$HARNESS_DIR/sshd-fish"
    chmod 0755 "$HARNESS_DIR/sshd-fish"
    install -m 0644 "$d/id_ed25519.pub" "$HARNESS_DIR/sshd-fish/authorized_keys"
    printf 'Match User %s\n  AuthorizedKeysFile %s\n' "$fish_user" "$HARNESS_DIR/sshd-fish/authorized_keys" \
      >> "$d/sshd_config"
  fi
  if ! /usr/sbin/sshd -t -f "$d/sshd_config" > "$d/sshd.log" 2>&1; then
    warn "sshd: configuration rejected"; log_tail "$d/sshd.log"; return 1
  fi
  log "sshd: starting on 127.0.0.1:$port"
  # sshd must be started by its absolute path (it re-executes itself).
  pid=$(spawn "$d/sshd.log" /usr/sbin/sshd -D -e -f "$d/sshd_config")
  echo "$pid" > "$(pidfile sshd)"

  env_export TL_TEST_SSH_HOST 127.0.0.1
  env_export TL_TEST_SSH_PORT "$port"
  env_export TL_TEST_SSH_USER "$user"
  env_export TL_TEST_SSH_KEY "$d/id_ed25519"
  env_export TL_TEST_SSH_PUBKEY "$d/id_ed25519.pub"
  env_export TL_TEST_SSH_KNOWN_HOSTS "$d/known_hosts"
  [[ -n $fish_user ]] && env_export TL_TEST_SSH_FISH_USER "$fish_user"

  wait_until "sshd" "$d/sshd.log" "$pid" tcp_open 127.0.0.1 "$port" || return 1
  wait_until "sshd login" "$d/sshd.log" "$pid" _sshd_login || return 1
}

_sshd_login() {
  ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=5 \
      -o IdentitiesOnly=yes -i "$TL_TEST_SSH_KEY" \
      -o UserKnownHostsFile="$TL_TEST_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
      -p "$TL_TEST_SSH_PORT" "$TL_TEST_SSH_USER@$TL_TEST_SSH_HOST" true < /dev/null
}

svc_sshd_check() {
  local out
  out=$(_sshd_login 2>&1) || { echo "login failed: ${out//$'\n'/ }"; return 1; }
  echo "$TL_TEST_SSH_USER@$TL_TEST_SSH_HOST:$TL_TEST_SSH_PORT, key $TL_TEST_SSH_KEY"
}

svc_sshd_stop() {
  # TERM to the listener; sessions it forked die with their connections.
  stop_service sshd TERM
}
