#!/usr/bin/env bash
# Backup and restore of one database: towlion against pg_dump -Fc,
# pg_dump | gzip, pg_restore and gunzip | psql. Prints a Markdown table.
#
#   bench/backup/run.sh DB [TOWLION_BINARY]
#
# Needs TOWLION_PG_URL (a superuser), and DB created by setup.sh. Every
# file goes to $WORK (default: a temp dir, removed at the end); restores
# go into scratch databases that are dropped afterwards.
set -euo pipefail
DB=${1:?usage: run.sh DB [towlion binary]}
TL=${2:-$(dirname "$0")/../../build/towlion}
: "${TOWLION_PG_URL:?set TOWLION_PG_URL (a superuser URL)}"
BIN=${PG_BIN:-${TL_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}}
WORK=${WORK:-$(mktemp -d /tmp/towlion-bench.XXXXXX)}
RUNS=${RUNS:-3}          # backups: best of RUNS
RRUNS=${RRUNS:-1}        # restores: best of RRUNS (they are long)
export TOWLION_BACKUP_DIR=$WORK/backups TOWLION_STATE_DIR=$WORK/state
export TOWLION_BACKUP_KEY= TOWLION_BACKUP_REMOTE=
mkdir -p "$TOWLION_BACKUP_DIR"
. "$(dirname "$0")/../lib.sh"
SRC=$(db_url "$DB")
psql_admin() { "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$TOWLION_PG_URL" "$@"; }
OWNER=$(psql_admin -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DB'")
fresh_db() { # an empty database owned like the original
  psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1 OWNER $OWNER TEMPLATE template0" >/dev/null
}
drop_db() { psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }
secs() { # run a command, print its wall time in seconds (best of $N)
  local best=
  for _ in $(seq "${N:-$RUNS}"); do
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null
    e=$(date +%s.%N)
    local t
    t=$(echo "$e - $s" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  printf '%.1f' "$best"
}
size_of() { stat -c %s "$1"; }
mb() { echo "scale=1; $1 / 1048576" | bc; }
newest() { ls -t "$TOWLION_BACKUP_DIR" | grep -v '\.json$' | grep "$1\$" | head -1; }

echo "database: $DB ($(psql_admin -c "SELECT pg_size_pretty(pg_database_size('$DB'))")), $(nproc) CPUs, PostgreSQL $(psql_admin -c 'SHOW server_version' | cut -d' ' -f1)"
echo
echo "| backup | wall s | file MiB |"
echo "|---|---:|---:|"
t=$(secs sh -c "'$BIN/pg_dump' -Fc -Z0 -d '$SRC' > /dev/null")
echo "| floor: \`pg_dump -Fc -Z0 > /dev/null\` | $t | - |"
FLOOR=$t
t=$(secs sh -c "'$BIN/pg_dump' -Fc -d '$SRC' -f '$WORK/plain.dump'")
echo "| \`pg_dump -Fc\` | $t | $(mb "$(size_of "$WORK/plain.dump")") |"
t=$(secs sh -c "'$BIN/pg_dump' -d '$SRC' | gzip > '$WORK/plain.sql.gz'")
echo "| \`pg_dump \| gzip\` | $t | $(mb "$(size_of "$WORK/plain.sql.gz")") |"
for args in "" "--threads 1" "--level 3" "--level 6"; do
  rm -f "$TOWLION_BACKUP_DIR"/*
  t=$(secs "$TL" backup run --db "$DB" $args)
  f=$(newest .dump.zst)
  echo "| \`towlion backup run $args\` (zstd) | $t | $(mb "$(size_of "$TOWLION_BACKUP_DIR/$f")") |"
done
rm -f "$TOWLION_BACKUP_DIR"/*
t=$(secs "$TL" backup run --db "$DB" --format sql)
SQLGZ=$(newest .sql.gz)
echo "| \`towlion backup run --format sql\` (sql.gz) | $t | $(mb "$(size_of "$TOWLION_BACKUP_DIR/$SQLGZ")") |"
"$TL" backup key generate "$WORK/key" >/dev/null
t=$(TOWLION_BACKUP_KEY=$WORK/key secs "$TL" backup run --db "$DB")
ENC=$(newest .dump.zst.enc)
echo "| \`towlion backup run\` encrypted | $t | $(mb "$(size_of "$TOWLION_BACKUP_DIR/$ENC")") |"
sleep 1
t=$(secs "$TL" backup run --db "$DB")
ZST=$(newest .dump.zst)
echo "| \`towlion backup run\` (again, the file used below) | $t | $(mb "$(size_of "$TOWLION_BACKUP_DIR/$ZST")") |"
echo
echo "Backup goal: within 1.1x of the floor ($FLOOR s) and at most half of \`pg_dump -Fc\`."
echo
N=$RRUNS
echo "| restore | wall s |"
echo "|---|---:|"
fresh_db bkb_target
t=$(secs sh -c "'$BIN/pg_restore' --no-owner --role=$OWNER -d '$(db_url bkb_target)' '$WORK/plain.dump'")
echo "| \`pg_restore\` of \`pg_dump -Fc\` into an empty db | $t |"
BARE=$t
fresh_db bkb_target
t=$(secs sh -c "'$BIN/pg_restore' -j 2 --no-owner --role=$OWNER -d '$(db_url bkb_target)' '$WORK/plain.dump'")
echo "| \`pg_restore -j 2\` of \`pg_dump -Fc\` into an empty db | $t |"
fresh_db bkb_target
t=$(secs sh -c "gunzip -c '$WORK/plain.sql.gz' | '$BIN/psql' -X -q -d '$(db_url bkb_target)'")
echo "| \`gunzip \| psql\` into an empty db | $t |"
drop_db bkb_target
t=$(secs "$TL" backup verify "$ZST")
echo "| \`towlion backup verify\` (decompress + SHA-256) | $t |"
t=$(secs "$TL" backup restore "$DB" "$ZST" --yes)
echo "| \`towlion backup restore --yes\` (scratch restore, checks, swap) | $t |"
t=$(TOWLION_BACKUP_KEY=$WORK/key secs "$TL" backup restore "$DB" "$ENC" --yes)
echo "| \`towlion backup restore --yes\`, encrypted backup | $t |"
t=$(secs "$TL" backup restore "$DB" "$SQLGZ" --yes --into bkb_sql_copy)
echo "| \`towlion backup restore --into\` of the sql.gz | $t |"
drop_db bkb_sql_copy
# The swaps kept the previous databases: drop them.
for d in $(psql_admin -c "SELECT datname FROM pg_database WHERE datname LIKE '${DB}\\_\\_pre\\_restore\\_%'"); do drop_db "$d"; done
echo
echo "Restore goal: within 1.2x of the bare \`pg_restore\` ($BARE s)."
[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
