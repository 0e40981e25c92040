#!/usr/bin/env bash
# Keep-alive benchmark: K apps deploy at once, WAVES times, while one
# client loop per app reuses its connection through Caddy; reports failed
# requests per wave (bench_keepalive.c says how).
#
# Needs a running harness (dockerd); starts its own Caddy.
#
# usage: bench/deploy/keepalive.sh [BUILD_DIR] [K] [WAVES]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
k=${2:-8}
waves=${3:-3}
# shellcheck source=common.sh
source "$here/common.sh"
bench_cc bench_keepalive
"$work/bench_keepalive" "$k" "$waves" "$work/app"
