#!/usr/bin/env bash
# Two builds' `towlion backup run` against the fsync floor, interleaved in
# one run: each round times `pg_dump -Fc -Z0 -f` into the backup directory
# (pg_dump fsyncs its file: the dump's bytes durable on the same disk),
# then build A's backup, then build B's. Prints one line per round (ms and
# the load) and the medians; CPU (user + system) of each backup too.
#
#   bench/backup/versus.sh ROUNDS DB A_TOWLION B_TOWLION
#
# Needs TOWLION_PG_URL (a superuser URL: a harness env) and DB made by
# bench/backup/setup.sh.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
rounds=${1:?usage: versus.sh ROUNDS DB A_TOWLION B_TOWLION} db=$2 a=$3 b=$4
: "${TOWLION_PG_URL:?source a harness env first}"
BIN=${PG_BIN:-${TL_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}}
work=$(mktemp -d /tmp/towlion-bench-bkversus.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TOWLION_BACKUP_DIR=$work/backups TOWLION_STATE_DIR=$work/state
export TOWLION_BACKUP_KEY= TOWLION_BACKUP_REMOTE=
mkdir -p "$TOWLION_BACKUP_DIR"
timed() { # NAME COMMAND...: one line "NAME wall_ms cpu_ms load"
  local s l=$(load1)
  s=$(now)
  /usr/bin/time -f '%U %S' -o "$work/cpu" "${@:2}" >/dev/null
  echo "$1 $(since_ms "$s") $(awk '{printf "%d", ($1 + $2) * 1000}' "$work/cpu") $l"
  rm -f "$TOWLION_BACKUP_DIR"/*
}
for _ in $(seq "$rounds"); do
  timed floor "$BIN/pg_dump" -Fc -Z0 -d "$(db_url "$db")" -f "$TOWLION_BACKUP_DIR/floor.dump"
  timed A "$a" backup run --db "$db"
  timed B "$b" backup run --db "$db"
done | tee "$work/all"
f=$(awk '$1 == "floor" {print $2}' "$work/all" | median)
for x in A B; do
  w=$(awk -v x=$x '$1 == x {print $2}' "$work/all" | median)
  c=$(awk -v x=$x '$1 == x {print $3}' "$work/all" | median)
  echo "$x: backup $w ms (CPU $c ms), fsync floor $f ms, ratio $(awk -v p="$w" -v q="$f" 'BEGIN {printf "%.2f", p / q}')"
done
