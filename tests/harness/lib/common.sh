# shellcheck shell=bash
# Shared helpers for the libtowlion test harness (sourced by start, stop, check).
#
# Conventions:
#   - every service has one file lib/<name>.sh defining svc_<name>_start,
#     svc_<name>_check and svc_<name>_stop;
#   - all chatter goes to stderr, only `export NAME=value` lines go to stdout;
#   - each daemon's pid lives in DIR/pids/<name>.pid, its files in DIR/<name>/.

HARNESS_SERVICES_ALL="docker postgres redis caddy sshd s3 s3iam github"
# shellcheck disable=SC2034  # used by start, stop and check
HARNESS_MARKER=".towlion-harness"   # present in every DIR we created; stop refuses to delete a DIR without it

# Where scripts/setup installs the S3 server (npm package, see tests/harness/s3/).
: "${TL_HARNESS_S3_PREFIX:=/opt/towlion-test/s3}"
# Base image built from Debian's busybox-static once dockerd answers.
: "${TL_HARNESS_BUSYBOX_IMAGE:=towlion-test/busybox:latest}"
# Bounded waits (seconds).
: "${TL_HARNESS_WAIT:=60}"

log()  { printf 'harness: %s\n' "$*" >&2; }
warn() { printf 'harness: warning: %s\n' "$*" >&2; }
die()  { printf 'harness: error: %s\n' "$*" >&2; exit 1; }

# Random lowercase hex string of $1 bytes (2*$1 characters); URL-safe, so it
# can go into the postgresql:// and redis:// URLs without escaping.
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# ---------------------------------------------------------------------------
# Ports.  We pick ports BELOW the kernel's ephemeral range: an outgoing
# connection elsewhere on the machine can then never grab the port between the
# moment we pick it and the moment the service binds it.  Ports we already
# handed out in this run are remembered so two services never get the same one.
_PICKED_PORTS=" "
free_port() {
  local lo base span p tries=0
  read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
  base=20000 span=$(( lo - 20000 ))
  if (( span < 1000 )); then base=10000 span=$(( lo - 10000 )); fi
  (( span > 1000 )) || die "ephemeral port range starts too low ($lo) to pick free ports"
  while (( tries++ < 500 )); do
    p=$(( base + (RANDOM * 32768 + RANDOM) % span ))
    [[ $_PICKED_PORTS == *" $p "* ]] && continue
    # Anything listening or bound (TCP or UDP) on that port, on any address?
    if [[ -z "$(ss -Htuan "sport = :$p" 2>/dev/null)" ]]; then
      _PICKED_PORTS+="$p "
      printf '%s\n' "$p"
      return 0
    fi
  done
  die "could not find a free port"
}

# ---------------------------------------------------------------------------
# The env file.  Each line is `export NAME=value`: the value as is when it has
# only characters the shell takes literally (paths, URLs, numbers, lists),
# shell-quoted with %q otherwise.
# shellcheck disable=SC2153  # HARNESS_DIR is set by start, stop and check
env_export() {
  local name=$1 value=$2 q
  printf -v "$name" '%s' "$value"
  export "${name?}"
  if [[ $value =~ ^[A-Za-z0-9_./:@,%+=-]*$ ]]; then q=$value; else printf -v q '%q' "$value"; fi
  printf 'export %s=%s\n' "$name" "$q" >> "$HARNESS_DIR/env"
}

# Forget service variables inherited from the caller (who may have sourced
# another harness's env file), so that only this DIR's values are used.
env_reset() {
  local v
  for v in $(compgen -e); do
    case $v in TOWLION_*|TL_TEST_*|TL_HARNESS_DIR|TL_HARNESS_SERVICES) unset "$v";; esac
  done
}

# Load DIR/env into the current shell (check, stop).
env_load() {
  env_reset
  [[ -f $HARNESS_DIR/env ]] || return 0
  # shellcheck disable=SC1091
  source "$HARNESS_DIR/env"
}

# ---------------------------------------------------------------------------
# Pids.
pidfile() { printf '%s/pids/%s.pid\n' "$HARNESS_DIR" "$1"; }

pid_of() {  # pid recorded for service $1, or nothing
  local f; f=$(pidfile "$1")
  [[ -s $f ]] && head -n1 "$f" | tr -cd '0-9'
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# stop_pid NAME PID [SIGNAL]: send SIGNAL (default TERM), wait up to 10 s for
# the process to go away, then KILL it.  Works for processes we are not the
# parent of (we poll /proc instead of using `wait`).
stop_pid() {
  local name=$1 pid=$2 sig=${3:-TERM} i
  pid_alive "$pid" || return 0
  log "stopping $name (pid $pid, SIG$sig)"
  kill -s "$sig" "$pid" 2>/dev/null || true
  for (( i = 0; i < 100; i++ )); do
    pid_alive "$pid" || return 0
    # A zombie child of ours counts as gone.
    [[ $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) == Z ]] && return 0
    sleep 0.1
  done
  warn "$name (pid $pid) did not exit after 10 s, sending SIGKILL"
  kill -s KILL "$pid" 2>/dev/null || true
  for (( i = 0; i < 50; i++ )); do pid_alive "$pid" || return 0; sleep 0.1; done
  warn "$name (pid $pid) still present after SIGKILL"
}

# stop_service NAME [SIGNAL]: stop the process recorded in NAME's pid file.
stop_service() {
  local name=$1 sig=${2:-TERM} pid
  pid=$(pid_of "$name") || true
  [[ -n $pid ]] && stop_pid "$name" "$pid" "$sig"
  rm -f "$(pidfile "$name")"
}

# Start a daemon in the background, detached from our session (setsid), with
# stdin closed and output appended to LOG.  Prints the pid.  The child of a
# non-interactive shell is not a process-group leader, so setsid(1) does not
# fork again and $! is the daemon itself.
spawn() {
  local logf=$1; shift
  setsid "$@" < /dev/null >> "$logf" 2>&1 &
  printf '%s\n' "$!"
}

# wait_until DESC LOGFILE PID CMD...: run CMD until it succeeds, for at most
# $TL_HARNESS_WAIT seconds.  Fails early when PID (if given) has died.  On
# failure prints the tail of LOGFILE.
wait_until() {
  local desc=$1 logf=$2 pid=$3; shift 3
  local deadline=$(( SECONDS + TL_HARNESS_WAIT ))
  while ! "$@" > /dev/null 2>&1; do
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      warn "$desc: process $pid exited before it answered"
      log_tail "$logf"
      return 1
    fi
    if (( SECONDS >= deadline )); then
      warn "$desc: no answer after ${TL_HARNESS_WAIT} s"
      log_tail "$logf"
      return 1
    fi
    sleep 0.2
  done
}

log_tail() {
  [[ -n ${1:-} && -f $1 ]] || return 0
  printf -- '---- last lines of %s ----\n' "$1" >&2
  tail -n 30 "$1" >&2 || true
  printf -- '----\n' >&2
}

# Is TCP port $2 on host $1 accepting connections?  (bash's /dev/tcp, so no
# dependency on nc.)
# shellcheck disable=SC2016  # $1/$2 expand in the inner bash
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2"; }

# The docker CLI used by the harness (never by the library).  Prefer Debian's
# docker.io CLI, which matches the daemon's version, over any other on PATH.
docker_cli() {
  local bin=docker
  [[ -x /usr/bin/docker ]] && bin=/usr/bin/docker
  # Keep the CLI's config (~/.docker) inside DIR.
  DOCKER_CONFIG="$HARNESS_DIR/docker/cli" "$bin" -H "$TOWLION_DOCKER_HOST" "$@"
}

# Resolve DIR to an absolute path and refuse obviously dangerous values.
harness_dir_abs() {
  local d
  d=$(realpath -m -- "$1")
  # sshd_config, postgresql.conf and the env file take paths unquoted.
  [[ $d =~ [[:space:]\'\"\\] ]] && die "the harness directory may not contain spaces or quotes: $d"
  case "$d" in
    /|/bin|/boot|/dev|/etc|/home|/lib|/lib64|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/var|/work)
      die "refusing to use $d as the harness directory";;
  esac
  printf '%s\n' "$d"
}

# Source every service file.
HARNESS_LIB=$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")
for _svc in $HARNESS_SERVICES_ALL; do
  # shellcheck disable=SC1090
  source "$HARNESS_LIB/$_svc.sh"
done
unset _svc
