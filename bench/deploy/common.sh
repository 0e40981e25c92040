# Shared by the deploy benchmarks (sourced): a Caddy of their own on free
# loopback ports, a state of their own, two prebuilt images of the hello
# app (deploys then only start containers), an app directory whose compose
# file takes the tag from APP_VERSION, and `bench_cc PROGRAM` to compile
# one of the C drivers against BUILD. Everything goes at exit.
# Needs: src, here, build set; a harness env (dockerd) sourced.
: "${TOWLION_DOCKER_HOST:?source a harness env first}"
docker=(/usr/bin/docker -H "$TOWLION_DOCKER_HOST")
work=$(mktemp -d /tmp/towlion-bench-deploy.XXXXXX)
cleanup() {
  "${docker[@]}" ps -aq --filter label=towlion-bench=deploy-floor | xargs -r "${docker[@]}" rm -f >/dev/null
  "$src/tests/harness/stop" "$work/caddy" >/dev/null 2>&1 || true; rm -rf "$work"
}
trap cleanup EXIT
. "$src/bench/lib.sh"
bench_caddy "$work/caddy"
export TOWLION_CADDY_DIR=$work/routes TOWLION_STATE_DIR=$work/state \
  TOWLION_APPS_DIR=$work/apps TOWLION_UPSTREAM_MODE=loopback TOWLION_TLS=off \
  TOWLION_NETWORK=towlion-bench

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

bench_cc() {
  cc -O2 -o "$work/$1" "$here/$1.c" -I"$src/include" -I"$build/include" \
    -L"$build" -ltowlion -lcurl -lpthread -Wl,-rpath,"$build"
}
