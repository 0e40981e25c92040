#!/usr/bin/env bash
# Provision and drop N apps (database + login role + PUBLIC locked out):
#   towlion   `towlion db create APP` / `towlion db drop APP --yes`, one
#             process per app, as a deploy script would run it
#   library   tl_pg_app_create / tl_pg_app_drop on one admin connection
#   baseline  createuser + createdb + psql -c "ALTER ROLE ... PASSWORD;
#             REVOKE ...; GRANT ...", then dropdb --force + dropuser
# Prints milliseconds per app for each. Needs TOWLION_PG_URL (a superuser),
# e.g. `. /tmp/towlion-dev/env`, and a build dir with the towlion binary.
#
# usage: bench/pg/run.sh [BUILD_DIR] [N]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
n=${2:-100}
: "${TOWLION_PG_URL:?set TOWLION_PG_URL (e.g. . /tmp/towlion-dev/env)}"
[[ -x $build/towlion ]] || { echo "no $build/towlion: build first" >&2; exit 2; }
for t in createuser createdb psql dropdb dropuser; do
  command -v "$t" >/dev/null || { echo "$t missing (apt-get install postgresql-client)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/towlion-bench-pg.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TOWLION_STATE_DIR=$work/state
tag=b$$

# Connection settings for the client tools, from the URL
# postgresql://user:password@host:port/db (no percent-encoding expected).
rest=${TOWLION_PG_URL#*://}
creds=${rest%%@*}
hostpart=${rest#*@}
hostpart=${hostpart%%/*}
export PGUSER=${creds%%:*} PGPASSWORD=${creds#*:} PGHOST=${hostpart%%:*} PGPORT=${hostpart##*:}
export PGDATABASE=postgres

now() { date +%s.%N; }
per_app() { awk -v a="$1" -v b="$2" -v n="$n" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }'; }

# ---- towlion CLI ----
t0=$(now)
for ((i = 0; i < n; i++)); do "$build/towlion" -q db create "tb-$tag-$i" >/dev/null; done
t1=$(now)
for ((i = 0; i < n; i++)); do "$build/towlion" -q db drop "tb-$tag-$i" --yes >/dev/null; done
t2=$(now)
cli_create=$(per_app "$t0" "$t1") cli_drop=$(per_app "$t1" "$t2")

# ---- library, one connection ----
cc -O2 -o "$work/bench_lib" "$here/bench_lib.c" -I"$src/include" -I"$build/include" \
   -L"$build" -ltowlion -Wl,-rpath,"$build"
read -r lib_create lib_drop < <("$work/bench_lib" "$n" "tl-$tag")

# ---- baseline: the PostgreSQL client tools ----
t0=$(now)
for ((i = 0; i < n; i++)); do
  r=tc_${tag}_${i}_user d=tc_${tag}_${i}_db
  pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
  createuser --login "$r"
  createdb -O "$r" "$d"
  psql -Xq -v ON_ERROR_STOP=1 -c "ALTER ROLE $r PASSWORD '$pw'; REVOKE ALL ON DATABASE $d FROM PUBLIC; GRANT CONNECT ON DATABASE $d TO $r;"
done
t1=$(now)
for ((i = 0; i < n; i++)); do
  dropdb --force "tc_${tag}_${i}_db"
  dropuser "tc_${tag}_${i}_user"
done
t2=$(now)
base_create=$(per_app "$t0" "$t1") base_drop=$(per_app "$t1" "$t2")

server=$(psql -XAtc 'show server_version')
printf '%d apps, PostgreSQL %s, %s\n' "$n" "$server" "$(nproc) cores"
printf '%-44s %12s %12s\n' "method" "create ms/app" "drop ms/app"
printf '%-44s %12s %12s\n' "towlion db create / drop (one process each)" "$cli_create" "$cli_drop"
printf '%-44s %12s %12s\n' "libtowlion, one connection" "$lib_create" "$lib_drop"
printf '%-44s %12s %12s\n' "createuser + createdb + psql GRANT" "$base_create" "$base_drop"
