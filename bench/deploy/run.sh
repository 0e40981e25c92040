#!/usr/bin/env bash
# Deploy benchmark: N deploys of a prebuilt image through the release
# engine while a client loop sends requests through Caddy; reports the time
# from the call to the new release serving, and failed requests.
# Each deploy is followed by one run of the floor (bench_deploy.c says how).
#
# Needs a running harness (dockerd; `. /tmp/towlion-dev/env` or similar);
# starts its own Caddy on free loopback ports and stops it at the end.
#
# usage: bench/deploy/run.sh [BUILD_DIR] [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
n=${2:-20}
# shellcheck source=common.sh
source "$here/common.sh"
bench_cc bench_deploy
"$work/bench_deploy" "$n" "$work/app" towlion-bench/hello:v1
