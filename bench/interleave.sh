#!/usr/bin/env bash
# Time two commands (an old and a new build, say) interleaved round by
# round in one run, so that both see the same load: round i runs A then
# B, each as `bash -c` with $i set to the round number. Prints one line
# per run (name, ms, load) and the medians.
#
#   bench/interleave.sh ROUNDS 'A command' 'B command'
#   bench/interleave.sh 7 'old/towlion -q db create p$i' 'new/towlion -q db create q$i'
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rounds=${1:?usage: interleave.sh ROUNDS A_COMMAND B_COMMAND} a=$2 b=$3
all=$(mktemp /tmp/towlion-bench-interleave.XXXXXX)
trap 'rm -f "$all"' EXIT
for i in $(seq "$rounds"); do
  for x in A B; do
    cmd=$a; [ $x = B ] && cmd=$b
    l=$(load1) s=$(now)
    i=$i bash -c "$cmd" >/dev/null
    echo "$x $(since_ms "$s") $l"
  done
done | tee "$all"
for x in A B; do
  echo "$x: median $(awk -v x=$x '$1 == x {print $2}' "$all" | median) ms over $rounds rounds, load $(awk -v x=$x '$1 == x {print $3}' "$all" | sort -n | sed -n '1p;$p' | paste -sd-)"
done
