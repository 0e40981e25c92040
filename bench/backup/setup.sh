#!/usr/bin/env bash
# Create the two benchmark databases on the server of TOWLION_PG_URL:
#   bkbench_db  pgbench tables at scale $SCALE (70 is about 1 GB)
#   bkrand_db   $RAND_ROWS rows of random text and JSON (compresses badly)
# Both owned by bkbench_user / bkrand_user like app databases.
set -euo pipefail
: "${TOWLION_PG_URL:?source the harness env or set TOWLION_PG_URL}"
SCALE=${SCALE:-70}
RAND_ROWS=${RAND_ROWS:-1000000}
BIN=${PG_BIN:-${TL_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}}
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
. "$(dirname "$0")/../lib.sh"
for app in bkbench bkrand; do
  psql "$TOWLION_PG_URL" -c "DROP DATABASE IF EXISTS ${app}_db WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS ${app}_user" -c "CREATE ROLE ${app}_user LOGIN" \
    -c "CREATE DATABASE ${app}_db OWNER ${app}_user"
done
start=$(date +%s)
"$BIN/pgbench" -i -q -s "$SCALE" "$(db_url bkbench_db)"
psql "$(db_url bkbench_db)" -c "REASSIGN OWNED BY CURRENT_USER TO bkbench_user" 2>/dev/null || true
echo "pgbench -i -s $SCALE: $(( $(date +%s) - start )) s"
start=$(date +%s)
psql "$(db_url bkrand_db)" <<SQL
SET ROLE bkrand_user;
CREATE TABLE events (id bigint PRIMARY KEY, payload text, doc jsonb);
INSERT INTO events
SELECT g,
       encode(decode(md5(random()::text) || md5(random()::text) || md5(random()::text)
                     || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex'),
              'base64'),
       jsonb_build_object('user', md5(random()::text), 'score', random(),
                          'tags', jsonb_build_array(md5(random()::text), (random() * 1e9)::bigint),
                          'at', now() - random() * interval '365 days')
FROM generate_series(1, $RAND_ROWS) g;
CREATE INDEX ON events ((doc->>'user'));
SQL
echo "random rows: $(( $(date +%s) - start )) s"
psql "$TOWLION_PG_URL" -At -c "SELECT datname, pg_size_pretty(pg_database_size(datname)) FROM pg_database WHERE datname IN ('bkbench_db', 'bkrand_db')"
