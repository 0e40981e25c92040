#!/usr/bin/env bash
# Preview benchmark: `towlion preview up` of a prebuilt image (the PR's
# checkout is a local git repository), then `towlion preview down`, N
# times; prints the median and worst of each. With --db the app has a
# database, so each preview also gets (and loses) its schema and role.
#
# Needs a running harness (dockerd, PostgreSQL; `. /tmp/towlion-dev/env`);
# starts its own Caddy on free loopback ports and stops it at the end.
#
# usage: bench/preview/run.sh [BUILD_DIR] [N] [--db]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib.sh"
build=${1:-$src/build}
n=${2:-9}
db=${3:-}
: "${TOWLION_DOCKER_HOST:?source a harness env first}"
work=$(mktemp -d /tmp/towlion-bench-preview.XXXXXX)
towlion() { "$build/towlion" -q "$@"; }
cleanup() {
  towlion app destroy pv --yes --purge >/dev/null 2>&1 || true
  "$src/tests/harness/stop" "$work/caddy" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bench_caddy "$work/caddy"
export TOWLION_CADDY_DIR=$work/routes TOWLION_STATE_DIR=$work/state \
  TOWLION_APPS_DIR=$work/apps TOWLION_UPSTREAM_MODE=loopback TOWLION_TLS=off \
  TOWLION_NETWORK=towlion-bench TOWLION_PREVIEW_DOMAIN=towlion.test
/usr/bin/docker -H "$TOWLION_DOCKER_HOST" build -q --build-arg APP_VERSION=pr \
  -t towlion-bench/hello:pr "$src/examples/apps/hello" >/dev/null
repo=$work/repo
mkdir -p "$repo/deploy"
printf 'services:\n  app:\n    image: towlion-bench/hello:pr\n' >"$repo/deploy/docker-compose.yml"
git -C "$repo" init -q -b main && git -C "$repo" add -A &&
  git -C "$repo" -c user.name=b -c user.email=b@b commit -qm pr
towlion app create pv --domain pv.towlion.test >/dev/null
[[ $db == --db ]] && towlion db create pv >/dev/null
ms() { date +%s%3N; }
ups=() downs=()
for i in $(seq "$n"); do
  t0=$(ms); towlion preview up pv --pr 1 --git "$repo" --ref main >/dev/null; t1=$(ms)
  body=$(curl -s -H "Host: pr-1.preview.pv.towlion.test" "http://127.0.0.1:$TOWLION_HTTP_PORT/")
  [[ $body == "hello pr" ]] || { echo "preview answered '$body'" >&2; exit 1; }
  towlion preview down pv --pr 1 >/dev/null; t2=$(ms)
  ups+=($((t1 - t0))) downs+=($((t2 - t1)))
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print "median " a[int((NR+1)/2)] " ms, worst " a[NR] " ms"}'; }
echo "previews: $n${db:+ (with a database schema)}"
echo "up:   $(stats "${ups[@]}")"
echo "down: $(stats "${downs[@]}")"
