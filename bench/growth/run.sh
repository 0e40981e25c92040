#!/usr/bin/env bash
# How cost grows with the number of apps on a server: registers N apps,
# each with one running busybox container labelled as its release's `app`
# service and a route, then times what a user runs (status, metrics, app
# list, doctor, preview gc), a route change and a deploy of one more app,
# at each size. Prints one Markdown table: ms per command (median of
# ROUNDS, default 5) and the load average before each size.
#
# Needs a harness with docker and postgres (`. /work/h/NAME/env`) and the
# busybox test image (tests/images, the smallest there is: 2 MB); starts
# its own Caddy through the harness and removes every container it made
# (label towlion.bench=growth). Containers start in parallel batches
# (JOBS at once, default 8), so 500 apps take minutes, not most of an hour.
#
# BASELINE=OTHER_BUILD_DIR also times that build's towlion for the reports
# (status, metrics, app list, doctor, preview gc) on the same apps, in the
# same run: before/after figures under the same load.
#
# usage: bench/growth/run.sh BUILD_DIR [SIZE...]     (default sizes: 10 100 500)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib.sh"
build=$(realpath "${1:?usage: run.sh BUILD_DIR [SIZE...]}")
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 100 500)
ROUNDS=${ROUNDS:-5}
JOBS=${JOBS:-8}
BASE=${BASELINE:+$(realpath "$BASELINE")/towlion}
: "${TOWLION_DOCKER_HOST:?source a harness env first}"
TL=$build/towlion
docker=(/usr/bin/docker -H "$TOWLION_DOCKER_HOST")
work=$(mktemp -d /tmp/towlion-bench-growth.XXXXXX)
cleanup() {
  set +e
  "${docker[@]}" ps -aq --filter label=towlion.bench=growth | xargs -r "${docker[@]}" rm -f >/dev/null 2>&1
  "$TL" -q app destroy gdeploy --yes --purge >/dev/null 2>&1
  "$src/tests/harness/stop" "$work/caddy" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
bench_caddy "$work/caddy"
export TOWLION_CADDY_DIR=$work/routes TOWLION_STATE_DIR=$work/state \
  TOWLION_APPS_DIR=$work/apps TOWLION_UPSTREAM_MODE=loopback TOWLION_TLS=off \
  TOWLION_NETWORK=growth TOWLION_DOMAIN=growth.test
"$TL" route init --bind 127.0.0.1 >/dev/null
mkdir -p "$TOWLION_CADDY_DIR/sites"

timed() { # median ms of ROUNDS runs of "$@" (exit status ignored: doctor
          # reports the platform this bench does not run)
  local t=() s
  for _ in $(seq "$ROUNDS"); do
    s=$(now); "$@" >/dev/null 2>&1 || true; t+=($(( ($(now) - s) / 1000000 )))
  done
  median "${t[@]}"
}

# The app deployed at each size: a prebuilt image, as in bench/deploy.
"${docker[@]}" build -q --build-arg APP_VERSION=v1 -t towlion-bench/hello:v1 \
  "$src/examples/apps/hello" >/dev/null
mkdir -p "$work/app/deploy"
printf 'services:\n  app:\n    image: towlion-bench/hello:v1\n' >"$work/app/deploy/docker-compose.yml"

reports=("status" "metrics" "app list" "doctor" "preview gc")
cmds=("${reports[@]}")
[ -z "$BASE" ] || for c in "${reports[@]}"; do cmds+=("$c (baseline)"); done
cmds+=("route add (one site)" "deploy (one app)")
declare -A res load secs
# One app's container, labelled as the platform labels an app's (its
# project, a release, a service); started by start_batch.
create_one() {
  "${docker[@]}" create --init --name "growth-$1" --label towlion.bench=growth \
    --label "towlion.project=$1" --label "towlion.app=$1" --label towlion.release=r1 \
    --label towlion.service=app towlion-test/busybox:latest sleep 86400 >/dev/null
}
register_one() {
  "$TL" -q app create "g$1" >/dev/null
  "$TL" --dry-run route add "g$1" "g$1.growth.test" \
    --upstream "127.0.0.1:$((20000 + $1))" >"$TOWLION_CADDY_DIR/sites/g$1.caddy"
}
export -f create_one register_one
export TL
export docker_cmd="${docker[*]}"
have=0
for n in "${sizes[@]}"; do
  s=$(now)
  # The apps and their site files, JOBS at a time (each is two CLI runs).
  seq $((have + 1)) "$n" | xargs -P "$JOBS" -I{} bash -c 'register_one "$1"' _ {}
  # Create JOBS at a time, then start them 25 names per docker call,
  # JOBS calls at a time.
  seq $((have + 1)) "$n" | sed 's/^/g/' |
    xargs -P "$JOBS" -I{} bash -c 'docker=($docker_cmd); create_one "$1"' _ {}
  seq $((have + 1)) "$n" | sed 's/^/growth-g/' |
    xargs -P "$JOBS" -n 25 "${docker[@]}" start >/dev/null
  have=$n
  "$TL" route reload >/dev/null
  secs[$n]=$(( ($(now) - s) / 1000000000 ))
  load[$n]=$(cut -d' ' -f1 /proc/loadavg)
  echo "size $n: set up in ${secs[$n]} s (load ${load[$n]})" >&2
  res[$n,status]=$(timed "$TL" status)
  res[$n,metrics]=$(timed "$TL" metrics)
  res[$n,app list]=$(timed "$TL" app list)
  res[$n,doctor]=$(timed "$TL" doctor)
  res[$n,preview gc]=$(timed "$TL" preview gc)
  if [ -n "$BASE" ]; then
    res[$n,status (baseline)]=$(timed "$BASE" status)
    res[$n,metrics (baseline)]=$(timed "$BASE" metrics)
    res[$n,app list (baseline)]=$(timed "$BASE" app list)
    res[$n,doctor (baseline)]=$(timed "$BASE" doctor)
    res[$n,preview gc (baseline)]=$(timed "$BASE" preview gc)
  fi
  t=()
  for _ in $(seq "$ROUNDS"); do
    s=$(now); "$TL" route add gnew gnew.growth.test --upstream 127.0.0.1:19999 >/dev/null
    t+=($(( ($(now) - s) / 1000000 ))); "$TL" route rm gnew >/dev/null
  done
  res[$n,route add (one site)]=$(median "${t[@]}")
  t=()
  "$TL" -q app create gdeploy >/dev/null 2>&1 || true
  for r in $(seq "$ROUNDS"); do
    s=$(now); "$TL" -q deploy gdeploy --path "$work/app" >/dev/null
    t+=($(( ($(now) - s) / 1000000 )))
  done
  res[$n,deploy (one app)]=$(median "${t[@]}")
done
printf '| command |'; for n in "${sizes[@]}"; do printf ' %s apps (ms) |' "$n"; done; echo
printf '|---|'; for _ in "${sizes[@]}"; do printf -- '---:|'; done; echo
for c in "${cmds[@]}"; do
  printf '| `%s` |' "$c"; for n in "${sizes[@]}"; do printf ' %s |' "${res[$n,$c]}"; done; echo
done
printf '| load average (1 min) |'; for n in "${sizes[@]}"; do printf ' %s |' "${load[$n]}"; done; echo
printf '| set-up (s) |'; for n in "${sizes[@]}"; do printf ' %s |' "${secs[$n]}"; done; echo
