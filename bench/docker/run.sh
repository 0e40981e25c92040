#!/usr/bin/env bash
# Docker benchmark: the towlion CLI and the library against the docker CLI
# and the raw Engine API, per call, side by side in one run.
#
# usage: bench/docker/run.sh [BUILD_DIR]   (default: build)
# Needs TOWLION_DOCKER_HOST (e.g. `. /tmp/towlion-dev/env`), the docker CLI,
# and the image towlion-test/busybox:latest. Creates N_CONTAINERS labelled
# containers (towlion.test=1, towlion.app=tlbench) and removes them after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
: "${TOWLION_DOCKER_HOST:?set TOWLION_DOCKER_HOST (. /tmp/towlion-dev/env)}"
N_CLI=${N_CLI:-30}      # calls per CLI case
N_FAST=${N_FAST:-300}   # in-process list/inspect calls
N_SLOW=${N_SLOW:-20}    # create+start+remove cycles
N_CONTAINERS=${N_CONTAINERS:-5}
docker=(docker -H "$TOWLION_DOCKER_HOST")
towlion=("$build/towlion")

tmp=$(mktemp -d)
cleanup() {
  ids=$("${docker[@]}" ps -aq --filter label=towlion.test=1 --filter label=towlion.app=tlbench) || true
  ids2=$("${docker[@]}" ps -aq --filter label=towlion.test=1 --filter label=towlion.app=tlbench-cycle) || true
  # shellcheck disable=SC2086
  [[ -n "$ids$ids2" ]] && "${docker[@]}" rm -f $ids $ids2 > /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

for i in $(seq 1 "$N_CONTAINERS"); do
  "${docker[@]}" run -d --init --label towlion.test=1 --label towlion.app=tlbench \
    --label towlion.service=app --name "tlbench-$i-$$" towlion-test/busybox:latest sleep 600 > /dev/null
done
id=$("${docker[@]}" ps -q --no-trunc --filter label=towlion.app=tlbench | head -1)

cc -O2 -o "$tmp/bench_docker" "$here/bench_docker.c" -I"$root/include" -I"$build/include" \
  -L"$build" -ltowlion -lcurl -Wl,-rpath,"$build"

# One case: N runs of a command. Prints the median wall time of a call
# (the median, because other jobs on a shared machine add outliers) and
# the CPU time (user + system, children included) per call, which load
# on the machine barely changes.
per_call() {
  local n=$1; shift
  local t0 t1 cpu0 cpu1 me=$BASHPID
  for _ in $(seq 1 "$n"); do
    t0=$(date +%s%N)
    "$@" > /dev/null
    t1=$(date +%s%N)
    echo $(( t1 - t0 )) >> "$tmp/samples"
  done
  # a second round for the CPU time alone (no `date` children in it)
  cpu0=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$me/stat)
  for _ in $(seq 1 "$n"); do "$@" > /dev/null; done
  cpu1=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$me/stat)
  sort -n "$tmp/samples" | awk -v c=$(( cpu1 - cpu0 )) -v n="$n" -v hz="$(getconf CLK_TCK)" \
    '{ v[NR] = $1 } END { printf "%8.3f %8.2f", v[int((NR + 1) / 2)] / 1e6, c * 1000 / hz / n }'
  rm -f "$tmp/samples"
}

cycle_docker() {
  local c; c=$("${docker[@]}" run -d --init --label towlion.test=1 --label towlion.app=tlbench-cycle \
                 towlion-test/busybox:latest sleep 60)
  "${docker[@]}" rm -f "$c" > /dev/null
}

"${towlion[@]}" docker ps > /dev/null   # warm caches
"${docker[@]}" ps > /dev/null

printf '# %s, %s CPUs, %s\n' "$(uname -sr)" "$(nproc)" "$("${docker[@]}" version --format 'Docker {{.Server.Version}} (API {{.Server.APIVersion}})')"
printf '%-46s %8s %8s\n' "case" "ms/call" "cpu ms"
printf '%-46s %s\n' "docker ps --filter label=towlion.app" "$(per_call "$N_CLI" "${docker[@]}" ps --filter label=towlion.app)"
printf '%-46s %s\n' "towlion docker ps" "$(per_call "$N_CLI" "${towlion[@]}" docker ps)"
printf '%-46s %s\n' "towlion docker ps --json" "$(per_call "$N_CLI" "${towlion[@]}" docker ps --json)"
printf '%-46s %s\n' "docker inspect ID" "$(per_call "$N_CLI" "${docker[@]}" inspect "$id")"
printf '%-46s %s\n' "docker run -d + docker rm -f" "$(per_call 10 cycle_docker)"
"$tmp/bench_docker" "$N_FAST" "$N_SLOW" | while read -r name ms; do
  case $name in
    lib.list) label="library list by label (in process)" ;;
    raw.list) label="raw API list by label (libcurl, in process)" ;;
    lib.inspect) label="library container inspect (in process)" ;;
    raw.inspect) label="raw API container inspect (libcurl, in process)" ;;
    lib.cycle) label="library create + start + remove (in process)" ;;
    raw.cycle) label="raw API create + start + remove (in process)" ;;
    *) label=$name ;;
  esac
  printf '%-46s %8.3f %8s\n' "$label" "$ms" "-"
done
