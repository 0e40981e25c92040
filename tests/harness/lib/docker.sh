# shellcheck shell=bash
# dockerd (Debian docker.io) with all its state inside DIR/docker.
#
# Only one dockerd per machine can own the docker0 bridge and the DOCKER
# iptables chains, so two harness instances cannot both start one: the second
# passes --reuse-docker SOCK (or TL_HARNESS_REUSE_DOCKER=SOCK) and we only
# check that the given daemon answers.  A reused daemon is never stopped and
# its containers are never touched by `stop`.

_docker_ping() { curl -fsS --max-time 2 --unix-socket "$1" http://docker/_ping; }

# The arguments of a harness dockerd whose state is under DIR/docker (one
# per line): how we start one, and how we recognise one started so.
# Every app and preview gets a network of its own: Docker's default pools
# hold about 30 networks, so carve /24s out of 172.20.0.0/14 (1024
# networks, inside the 172.16.0.0/12 that PostgreSQL's pg_hba trusts), as
# docs/platform.md tells a server's daemon.json to.
_docker_args() {
  local d=$1/docker
  printf '%s\n' --data-root "$d/root" --exec-root "$d/exec" -H "unix://$d/docker.sock" \
    --pidfile "$d/dockerd.pid" --default-address-pool base=172.20.0.0/14,size=24 \
    --log-level warn
}

# The dockerds in our network namespace (those in a namespace of their
# own, e.g. tests/e2e's, own another docker0 and do not conflict).
_docker_here() {
  local pid ours; ours=$(readlink /proc/self/ns/net)
  for pid in $(pgrep -x dockerd); do
    [[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$ours" ]] && echo "$pid"
  done
  return 0
}

# If dockerd PID was started by a harness (scripts/demo's, scripts/test's,
# another developer's) with our very arguments, and that harness is still
# there and its daemon answers: print its socket. Otherwise fail.
_docker_harness_daemon() {
  local pid=$1 sock dir have want
  have=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | tail -n +2) || return 1
  sock=$(sed -n 's|^unix://\(.*/docker/docker.sock\)$|\1|p' <<< "$have" | head -n1)
  [[ -n $sock ]] || return 1
  dir=${sock%/docker/docker.sock}
  want=$(_docker_args "$dir")
  [[ $have == "$want" && -e $dir/$HARNESS_MARKER ]] || return 1
  _docker_ping "$sock" > /dev/null 2>&1 || return 1
  printf '%s\n' "$sock"
}

# The bridge gateway containers use to reach services on the host.
_docker_gateway() {
  local sock=$1 gw
  gw=$(ip -4 -o addr show dev docker0 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
  if [[ -z $gw ]]; then
    # A reused daemon may use another bridge: ask it.
    gw=$(curl -fsS --max-time 5 --unix-socket "$sock" http://docker/networks/bridge 2>/dev/null |
         jq -r '.IPAM.Config[0].Gateway // empty' 2>/dev/null) || true
  fi
  printf '%s\n' "$gw"
}

svc_docker_start() {
  local d=$HARNESS_DIR/docker sock pid logf=$HARNESS_DIR/docker/dockerd.log
  mkdir -p "$d/cli"
  local reuse=${HARNESS_REUSE_DOCKER:-${TL_HARNESS_REUSE_DOCKER:-}}

  if [[ -n $reuse ]]; then
    sock=${reuse#unix://}
    log "docker: reusing the daemon at $sock"
    _docker_ping "$sock" > /dev/null || die "docker: the daemon at $sock does not answer /_ping"
    : > "$d/reused"
  else
    sock=$d/docker.sock
    # dockerd 20.10 uses a system containerd when /run/containerd/containerd.sock
    # exists and otherwise starts its own under --exec-root, which is what we want.
    [[ -S /run/containerd/containerd.sock ]] &&
      warn "docker: a system containerd is running; dockerd will use it"
    # A second dockerd would fight the first over docker0 and iptables.
    # One that another harness started the same way (scripts/demo's while
    # scripts/test runs, or the other way round) is reused instead, as if
    # --reuse-docker named it: our stop then leaves it and its containers
    # alone, and its own harness stops it.
    local other harness_sock=''
    for other in $(_docker_here); do
      harness_sock=$(_docker_harness_daemon "$other") && break
    done
    other=${other:-}
    if [[ -n $harness_sock ]]; then
      sock=$harness_sock
      log "docker: reusing the running harness dockerd of ${sock%/docker/docker.sock} (pid $other, the same configuration); stop leaves it running"
      : > "$d/reused"
    elif [[ -n $(_docker_here) ]]; then
      other=$(_docker_here | head -n1)
      warn "docker: another dockerd (pid $other) is running: pass --reuse-docker SOCK with its socket"
      warn "docker: (for another harness: \$DIR/docker/docker.sock; for the system one: /var/run/docker.sock)"
      return 1
    fi
  fi
  if [[ -z $reuse && ! -e $d/reused ]]; then
    mkdir -p "$d/root" "$d/exec"
    log "docker: starting dockerd"
    local args; mapfile -t args < <(_docker_args "$HARNESS_DIR")
    pid=$(spawn "$logf" dockerd "${args[@]}")
    echo "$pid" > "$(pidfile docker)"
    wait_until "docker" "$logf" "$pid" _docker_ping "$sock" || return 1
  fi

  env_export TOWLION_DOCKER_HOST "unix://$sock"

  local gw; gw=$(_docker_gateway "$sock")
  [[ -n $gw ]] || { warn "docker: could not find the bridge gateway address"; return 1; }
  env_export TL_TEST_DOCKER_GATEWAY "$gw"
  log "docker: up at unix://$sock, bridge gateway $gw"

  _docker_build_busybox
  _docker_build_pgclient
}

# towlion-test/busybox:latest: the base image for tests, made from Debian's
# busybox-static because there is no registry to pull from.
_docker_build_busybox() {
  if docker_cli image inspect "$TL_HARNESS_BUSYBOX_IMAGE" > /dev/null 2>&1; then
    log "docker: image $TL_HARNESS_BUSYBOX_IMAGE already exists"
    return 0
  fi
  local bb=/bin/busybox rootfs=$HARNESS_DIR/docker/busybox-rootfs applet
  [[ -x $bb ]] || { warn "docker: $bb missing (apt-get install busybox-static)"; return 1; }
  # Debian's /bin/busybox comes from busybox-static only when that package is
  # installed; a dynamically linked one would not run in an empty image.
  if command -v file > /dev/null && ! LC_ALL=C file -L "$bb" | grep -q 'statically linked'; then
    warn "docker: $bb is not statically linked (apt-get install busybox-static)"
    return 1
  fi
  log "docker: building $TL_HARNESS_BUSYBOX_IMAGE from $bb"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev,var/tmp,usr/bin,usr/sbin,sbin,home}
  chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
  chmod 0700 "$rootfs/root"
  cp "$bb" "$rootfs/bin/busybox"
  for applet in $("$bb" --list); do
    [[ $applet == busybox ]] && continue
    ln -sf busybox "$rootfs/bin/$applet"
  done
  cat > "$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat > "$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
    docker_cli import \
      -c 'CMD ["/bin/sh"]' \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      - "$TL_HARNESS_BUSYBOX_IMAGE" > /dev/null || { warn "docker: docker import failed"; return 1; }
  rm -rf "$rootfs"
}

svc_docker_check() {
  local sock=${TOWLION_DOCKER_HOST#unix://}
  _docker_ping "$sock" > /dev/null || { echo "no answer on $sock"; return 1; }
  docker_cli image inspect "$TL_HARNESS_BUSYBOX_IMAGE" > /dev/null 2>&1 ||
    { echo "image $TL_HARNESS_BUSYBOX_IMAGE missing"; return 1; }
  echo "unix://$sock, gateway ${TL_TEST_DOCKER_GATEWAY:-?}"
}

svc_docker_stop() {
  local d=$HARNESS_DIR/docker pid sock ids
  [[ -d $d ]] || return 0
  if [[ -e $d/reused ]]; then
    log "docker: daemon was reused, leaving it and its containers alone"
    return 0
  fi
  pid=$(pid_of docker) || true
  [[ -z $pid && -s $d/dockerd.pid ]] && pid=$(tr -cd '0-9' < "$d/dockerd.pid")
  sock=$d/docker.sock
  if pid_alive "$pid" && _docker_ping "$sock" > /dev/null 2>&1; then
    # Remove every container first, at once: dockerd would otherwise give each
    # one its stop timeout on shutdown, and leftovers keep mounts and veths.
    ids=$(TOWLION_DOCKER_HOST=unix://$sock docker_cli ps -aq 2>/dev/null) || true
    if [[ -n $ids ]]; then
      log "docker: removing $(wc -w <<< "$ids") container(s)"
      # shellcheck disable=SC2086
      TOWLION_DOCKER_HOST=unix://$sock docker_cli rm -f -v $ids > /dev/null 2>&1 || true
    fi
    # User-defined networks (e.g. "towlion") own br-* bridges and iptables
    # rules that dockerd keeps across restarts; with the data root deleted
    # nobody would ever remove them, and each run would take a new subnet.
    TOWLION_DOCKER_HOST=unix://$sock docker_cli network prune -f > /dev/null 2>&1 || true
  fi
  # dockerd stops its own containerd on TERM; wait for it so that docker0,
  # iptables rules and its mounts are released before DIR is removed.  It can
  # take a while with many containers, hence a longer wait than stop_pid's.
  if pid_alive "$pid"; then
    log "docker: stopping dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$(( SECONDS + 30 ))
    while pid_alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
    pid_alive "$pid" && stop_pid dockerd "$pid" KILL
  fi
  rm -f "$(pidfile docker)"
  # containerd started by dockerd (and its shims, if a crash left any).
  local f=$d/exec/containerd/containerd.pid
  [[ -s $f ]] && stop_pid containerd "$(tr -cd '0-9' < "$f")" TERM
  # If dockerd or containerd had crashed, containers may still run: killing
  # their shims would not end them (each is pid 1 of its own namespace), so
  # let runc, which holds their state under the exec root, kill and delete
  # them (this also removes their cgroups).
  local runc_root=$d/exec/runtime-runc/moby id
  if [[ -d $runc_root ]] && command -v runc > /dev/null; then
    for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
      log "docker: deleting orphaned container $id with runc"
      runc --root "$runc_root" delete --force "$id" > /dev/null 2>&1 ||
        warn "docker: runc could not delete container $id"
    done
  fi
  return 0
}

# Images made from host binaries and the shared libraries they need, on
# top of the busybox image: a real client or server inside a container,
# without a registry.
#   towlion-test/pgclient: psql, for apps whose release command migrates a
#                          database through DATABASE_URL
#   towlion-test/caddy:    caddy, for Caddy on the platform network (the
#                          `network` upstream mode)
_docker_build_from_host() { # IMAGE DEST=SOURCE...
  local image=$1 ctx lib spec dest src
  shift
  if docker_cli image inspect "$image" > /dev/null 2>&1; then
    return 0
  fi
  ctx=$HARNESS_DIR/docker/host-image
  rm -rf "$ctx"
  mkdir -p "$ctx/rootfs"
  for spec in "$@"; do
    dest=${spec%%=*} src=${spec#*=}
    [[ -x $src ]] || { warn "docker: $src missing for $image"; return 1; }
    mkdir -p "$ctx/rootfs$(dirname "$dest")"
    cp "$src" "$ctx/rootfs$dest"
    for lib in $(ldd "$src" | grep -oE '/[^ ]+' | sort -u); do
      mkdir -p "$ctx/rootfs$(dirname "$lib")"
      cp -L "$lib" "$ctx/rootfs$lib"
    done
  done
  log "docker: building $image from host binaries"
  printf 'FROM %s\nCOPY rootfs/ /\n' "$TL_HARNESS_BUSYBOX_IMAGE" > "$ctx/Dockerfile"
  docker_cli build -q -t "$image" "$ctx" > /dev/null || { warn "docker: building $image failed"; return 1; }
  rm -rf "$ctx"
}

_docker_build_pgclient() {
  _docker_build_from_host towlion-test/pgclient:latest \
    /usr/bin/psql=/usr/lib/postgresql/15/bin/psql &&
  _docker_build_from_host towlion-test/caddy:latest /usr/bin/caddy=/usr/bin/caddy
}
