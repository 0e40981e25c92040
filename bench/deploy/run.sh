#!/usr/bin/env bash
# Deploy benchmark: N deploys of a prebuilt image through the release
# engine while a client loop sends requests through Caddy; reports the time
# from the call to the new release serving, and failed requests.
#
# Needs a running harness (dockerd; `. /tmp/towlion-dev/env` or similar);
# starts its own Caddy on free loopback ports and stops it at the end.
# Each deploy is followed by one run of the floor (bench_deploy.c says how).
#
# usage: bench/deploy/run.sh [BUILD_DIR] [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
n=${2:-20}
: "${TOWLION_DOCKER_HOST:?source a harness env first}"
docker=(/usr/bin/docker -H "$TOWLION_DOCKER_HOST")
work=$(mktemp -d /tmp/towlion-bench-deploy.XXXXXX)
cleanup() {
  "${docker[@]}" ps -aq --filter label=towlion-bench=deploy-floor | xargs -r "${docker[@]}" rm -f >/dev/null
  "$src/tests/harness/stop" "$work/caddy" >/dev/null 2>&1 || true; rm -rf "$work"
}
trap cleanup EXIT
eval "$("$src/tests/harness/start" --services caddy --dir "$work/caddy" 2>/dev/null |
  grep -E 'CADDY_ADMIN|HTTP_PORT|HTTPS_PORT')"
export TOWLION_CADDY_DIR=$work/routes TOWLION_STATE_DIR=$work/state \
  TOWLION_APPS_DIR=$work/apps TOWLION_UPSTREAM_MODE=loopback TOWLION_TLS=off \
  TOWLION_NETWORK=towlion-bench

# Two prebuilt images of the hello app: deploys then only start containers.
for v in 1 2; do
  "${docker[@]}" build -q --build-arg APP_VERSION=v$v -t towlion-bench/hello:v$v \
    "$src/examples/apps/hello" >/dev/null
done
mkdir -p "$work/app/deploy"
cat > "$work/app/deploy/docker-compose.yml" <<'YML'
services:
  app:
    image: towlion-bench/hello:${APP_VERSION}
    environment:
      APP_VERSION: ${APP_VERSION}
YML
cc -O2 -o "$work/bench_deploy" "$here/bench_deploy.c" -I"$src/include" -I"$build/include" \
  -L"$build" -ltowlion -lcurl -lpthread -Wl,-rpath,"$build"
"$work/bench_deploy" "$n" "$work/app" towlion-bench/hello:v1
