#!/usr/bin/env bash
# Benchmark `towlion metrics` against the shell script an operator would
# write (shell-metrics.sh: docker ps/inspect, psql, df) with N apps, each
# with one running labelled container, on the harness's dockerd and
# PostgreSQL. Needs hyperfine and the harness env.
#
# usage: . /tmp/towlion-dev/env && bench/platform/run.sh BUILD_DIR [N]
set -euo pipefail
build=$(realpath "$1"); n=${2:-10}
here=$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")
export DOCKER_HOST=${TOWLION_DOCKER_HOST}
work=$(mktemp -d /tmp/towlion-bench-platform.XXXXXX)
export TOWLION_STATE_DIR=$work/state   # a private registry
cleanup() {
  for i in $(seq 1 "$n"); do docker rm -f "bplat$i-app" > /dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for i in $(seq 1 "$n"); do
  "$build/towlion" --config /dev/null -q app create "bplat$i" > /dev/null
  docker run -d --init --name "bplat$i-app" --label "towlion.app=bplat$i" \
    --label towlion.release=r1 --label towlion.service=app \
    towlion-test/busybox:latest sleep 3600 > /dev/null
done
hyperfine -N --warmup 2 --runs 15 --export-markdown "$work/result.md" \
  -n "towlion metrics" "$build/towlion --config /dev/null metrics" \
  -n "shell script (docker, psql, df)" "bash $here/shell-metrics.sh $TOWLION_STATE_DIR/apps" >&2
cat "$work/result.md"
