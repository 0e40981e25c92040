#!/usr/bin/env bash
# Benchmark: add one route when N sites exist, libtowlion (`towlion route
# add`) side by side with what a user would do by hand: write the site file
# and run `caddy reload --config Caddyfile --adapter caddyfile`. Also times
# the middle road, POSTing the whole Caddyfile text to /load.
#
# It starts its own Caddy (Debian's caddy) on free loopback ports in a temp
# dir and stops it by pid at the end; it never touches another Caddy.
#
# usage: bench/caddy/run.sh [path/to/towlion] [rounds] [sizes...]
#   defaults: ./build/towlion, 7 rounds, sizes 10 100 1000
set -euo pipefail

TOWLION=${1:-./build/towlion}
ROUNDS=${2:-7}
shift $(( $# > 2 ? 2 : $# )) || true
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10 100 1000)
TOWLION=$(readlink -f "$TOWLION")
[ -x "$TOWLION" ] || { echo "no towlion binary at $TOWLION" >&2; exit 2; }
command -v caddy > /dev/null || { echo "caddy is not installed" >&2; exit 2; }

DIR=$(mktemp -d /tmp/towlion-bench-caddy.XXXXXX)
CADDY_PID=
cleanup() {
  [ -n "$CADDY_PID" ] && kill "$CADDY_PID" 2> /dev/null && wait "$CADDY_PID" 2> /dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT

. "$(dirname "$0")/../lib.sh"
ADMIN=$(free_port); HTTP=$(free_port); HTTPS=$(free_port)
export TOWLION_CADDY_ADMIN=http://127.0.0.1:$ADMIN TOWLION_CADDY_DIR=$DIR/routes \
       TOWLION_STATE_DIR=$DIR/state TOWLION_HTTP_PORT=$HTTP TOWLION_HTTPS_PORT=$HTTPS \
       TOWLION_TLS=off
mkdir -p "$DIR/home" "$DIR/data" "$DIR/config" "$TOWLION_CADDY_DIR"
"$TOWLION" route init --bind 127.0.0.1 > /dev/null
(cd "$TOWLION_CADDY_DIR" && exec env HOME="$DIR/home" XDG_DATA_HOME="$DIR/data" \
   XDG_CONFIG_HOME="$DIR/config" caddy run --config Caddyfile --adapter caddyfile \
   > "$DIR/caddy.log" 2>&1) &
CADDY_PID=$!
for _ in $(seq 100); do curl -fs "$TOWLION_CADDY_ADMIN/config/" > /dev/null && break; sleep 0.1; done

now_ms() { date +%s%N; }
elapsed() { echo $(( ($(date +%s%N) - $1) / 1000 )); } # microseconds
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }

SITES=$TOWLION_CADDY_DIR/sites
have=0
printf '| sites | towlion route add (ms) | caddy reload (ms) | POST /load Caddyfile text (ms) | ratio towlion/caddy reload |\n'
printf '|---:|---:|---:|---:|---:|\n'
for n in "${SIZES[@]}"; do
  # Grow the table to n sites with the same files `route add` writes.
  for i in $(seq $((have + 1)) "$n"); do
    "$TOWLION" --dry-run route add "app$i" "app$i.bench.test" \
      --upstream "127.0.0.1:$((20000 + i % 40000))" > "$SITES/app$i.caddy"
  done
  have=$n
  "$TOWLION" route reload > /dev/null # applies them, fills the adapted/ cache
  t_lib=() t_caddy=() t_text=()
  for r in $(seq "$ROUNDS"); do
    s=$(now_ms)
    "$TOWLION" route add new new.bench.test --upstream 127.0.0.1:19999 > /dev/null
    t_lib+=("$(elapsed "$s")")
    "$TOWLION" route rm new > /dev/null

    "$TOWLION" --dry-run route add new new.bench.test --upstream 127.0.0.1:19999 > "$SITES/new.caddy"
    s=$(now_ms)
    (cd "$TOWLION_CADDY_DIR" && caddy reload --config Caddyfile --adapter caddyfile \
       --address "127.0.0.1:$ADMIN" > /dev/null 2>&1)
    t_caddy+=("$(elapsed "$s")")

    # The whole Caddyfile as text, import expanded (what /load would adapt).
    { grep -v '^import sites/\*\.caddy$' "$TOWLION_CADDY_DIR/Caddyfile"; cat "$SITES"/*.caddy; } \
      > "$DIR/expanded.caddyfile"
    s=$(now_ms)
    curl -fsS -o /dev/null -H 'Content-Type: text/caddyfile' -H 'Cache-Control: must-revalidate' \
      --data-binary @"$DIR/expanded.caddyfile" "$TOWLION_CADDY_ADMIN/load"
    t_text+=("$(elapsed "$s")")
    rm -f "$SITES/new.caddy"
    "$TOWLION" route reload > /dev/null
  done
  ml=$(printf '%s\n' "${t_lib[@]}" | median)
  mc=$(printf '%s\n' "${t_caddy[@]}" | median)
  mt=$(printf '%s\n' "${t_text[@]}" | median)
  printf '| %d | %s | %s | %s | %s |\n' "$n" "$ml" "$mc" "$mt" \
    "$(awk -v a="$ml" -v b="$mc" 'BEGIN {printf "%.2f", a / b}')"
done
