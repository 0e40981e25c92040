#!/usr/bin/env bash
# Two builds' `towlion route add` against Caddy's load of the same JSON
# (the floor), interleaved in one run on one Caddy: each round adds a site
# with build A, loads A's resulting JSON with curl, then the same for B.
#
#   bench/caddy/versus.sh ROUNDS A_TOWLION A_ROUTES_DIR B_TOWLION B_ROUTES_DIR
#
# Each ROUTES_DIR is a TOWLION_CADDY_DIR holding the same routing table as
# written by its build (bench/floors makes one). Needs TOWLION_CADDY_ADMIN
# (a harness Caddy) and TOWLION_TLS=off; prints one line per measurement
# (build, lib ms, floor ms, load) and the medians.
set -euo pipefail
rounds=$1; shift
: "${TOWLION_CADDY_ADMIN:?a Caddy admin URL}"
work=$(mktemp -d /tmp/towlion-bench-versus.XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/../lib.sh"
one() { # NAME TOWLION ROUTES_DIR
  local s lib floor
  export TOWLION_CADDY_DIR=$3 TOWLION_STATE_DIR=$3/../state
  "$2" route reload >/dev/null
  s=$(now); "$2" route add new new.versus.test --upstream 127.0.0.1:19999 >/dev/null
  lib=$(( ($(now) - s) / 1000000 ))
  curl -fsS "$TOWLION_CADDY_ADMIN/config/" >"$work/with.json"
  "$2" route rm new >/dev/null
  s=$(now)
  curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -H 'Cache-Control: must-revalidate' --data-binary @"$work/with.json" \
    "$TOWLION_CADDY_ADMIN/load"
  floor=$(( ($(now) - s) / 1000000 ))
  echo "$1 $lib $floor $(load1)" | tee -a "$work/all"
}
for _ in $(seq "$rounds"); do
  one A "$1" "$2"
  one B "$3" "$4"
done
for b in A B; do
  l=$(awk -v b=$b '$1 == b {print $2}' "$work/all" | median)
  f=$(awk -v b=$b '$1 == b {print $3}' "$work/all" | median)
  echo "$b: route add $l ms, floor $f ms, ratio $(awk -v a="$l" -v c="$f" 'BEGIN {printf "%.2f", a / c}')"
done
