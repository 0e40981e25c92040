#!/usr/bin/env bash
# Every job of the platform next to its floor, measured in the same run:
# the libtowlion figure (the `towlion` command a user runs, or the library
# call the engine makes) and the least the same job can cost on this
# machine (the bare tool or API request that does only the job's essential
# work). Prints ONE Markdown table of ratios, with the load average read
# before each row.
#
# Needs a harness with docker, postgres, redis and s3
# (`. /work/h/NAME/env`); starts its own Caddy through the harness and
# stops it by pid at the end; names what it makes in dockerd `floors-*`
# (label towlion.bench=floors) and removes it.
#
# usage: bench/floors/run.sh BUILD_DIR [JOB...]
#   JOB: route deploy backup restore list provision preview (default: all)
#   ROUNDS (default 7): medians of that many rounds; SITES (default 1000):
#   the routing table's size for `route`; DB (default bkrand_db, made by
#   bench/backup/setup.sh): the database backed up and restored.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib.sh"
build=$(realpath "${1:?usage: run.sh BUILD_DIR [JOB...]}")
shift
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(route deploy backup restore list provision preview)
ROUNDS=${ROUNDS:-7}
SITES=${SITES:-1000}
DB=${DB:-bkrand_db}
: "${TOWLION_DOCKER_HOST:?source a harness env first}"
: "${TOWLION_PG_URL:?source a harness env first}"
TL=$build/towlion
PGBIN=${TL_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}
SOCK=${TOWLION_DOCKER_HOST#unix://}
docker=(/usr/bin/docker -H "$TOWLION_DOCKER_HOST")

work=$(mktemp -d /tmp/towlion-bench-floors.XXXXXX)
rid=$(printf '%04x' $((RANDOM)))   # names of this run: buckets outlive it
rows=()
table() {
  [ ${#rows[@]} -gt 0 ] || return 0
  echo "| job | libtowlion | ms | floor | ms | ratio | load (1 min) |"
  echo "|---|---|---:|---|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
}
cleanup() {
  set +e
  table # what was measured, also when a job failed
  "${docker[@]}" ps -aq --filter label=towlion.bench=floors | xargs -r "${docker[@]}" rm -f >/dev/null 2>&1
  "${docker[@]}" network rm floors-net >/dev/null 2>&1
  for a in $(ls "$work/state/apps" 2>/dev/null); do
    "$TL" -q app destroy "${a%.*}" --yes --purge >/dev/null 2>&1
  done
  "$src/tests/harness/stop" "$work/caddy" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
bench_caddy "$work/caddy"
export TOWLION_CADDY_DIR=$work/routes TOWLION_STATE_DIR=$work/state \
  TOWLION_APPS_DIR=$work/apps TOWLION_UPSTREAM_MODE=loopback TOWLION_TLS=off \
  TOWLION_NETWORK=floors TOWLION_PREVIEW_DOMAIN=floors.test \
  TOWLION_BACKUP_DIR=$work/backups TOWLION_BACKUP_KEY= TOWLION_BACKUP_REMOTE=
mkdir -p "$TOWLION_BACKUP_DIR"

quiet() { "$@" >/dev/null 2>&1; }
# row JOB WHAT_LIB LIB_MS WHAT_FLOOR FLOOR_MS LOAD
row() {
  local r
  r=$(awk -v a="$3" -v b="$5" 'BEGIN {printf "%.2f", a / b}')
  rows+=("| $1 | $2 | $3 | $4 | $5 | **$r** | $6 |")
  echo "  $1: $3 ms against $5 ms ($r x, load $6)" >&2
}
wait_http() { # until the URL answers 200, at most 20 s
  for _ in $(seq 4000); do curl -fs -o /dev/null "$@" && return 0; sleep 0.005; done
  return 1
}
hello_image() {
  "${docker[@]}" build -q --build-arg APP_VERSION=v1 -t towlion-bench/hello:v1 \
    "$src/examples/apps/hello" >/dev/null
}

# --- route: add one site to SITES, against POST /load of the same JSON ---
job_route() {
  local l sites=$TOWLION_CADDY_DIR/sites t_lib=() t_floor=()
  "$TL" route init --bind 127.0.0.1 >/dev/null
  mkdir -p "$sites"
  # One site file as `route add` writes it, the others made from it by
  # name and port (a process per site took minutes on a loaded machine).
  "$TL" --dry-run route add app1 app1.floors.test --upstream 127.0.0.1:20001 >"$work/one.caddy"
  for i in $(seq "$SITES"); do
    sed "s/app1\b/app$i/g; s/:20001\b/:$((20000 + i % 40000))/g" "$work/one.caddy" \
      >"$sites/app$i.caddy"
  done
  "$TL" route reload >/dev/null
  curl -fsS "$TOWLION_CADDY_ADMIN/config/" >"$work/without.json"
  l=$(load1)
  for _ in $(seq "$ROUNDS"); do
    s=$(now); "$TL" route add new new.floors.test --upstream 127.0.0.1:19999 >/dev/null
    t_lib+=("$(since_ms "$s")")
    curl -fsS "$TOWLION_CADDY_ADMIN/config/" >"$work/with.json"
    "$TL" route rm new >/dev/null
    # The floor: Caddy loading the very JSON the add produced (it would
    # skip an unchanged config without must-revalidate).
    s=$(now)
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
      -H 'Cache-Control: must-revalidate' --data-binary @"$work/with.json" \
      "$TOWLION_CADDY_ADMIN/load"
    t_floor+=("$(since_ms "$s")")
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
      --data-binary @"$work/without.json" "$TOWLION_CADDY_ADMIN/load"
  done
  row "route add, $SITES sites" '`towlion route add`' "$(median "${t_lib[@]}")" \
    '`curl POST /load` of the same JSON, must-revalidate' "$(median "${t_floor[@]}")" "$l"
  rm -rf "$sites" "$TOWLION_CADDY_DIR/adapted"
  "$TL" route reload >/dev/null
}

# --- deploy: bench/deploy against docker run + first answer ---
job_deploy() {
  local l out lib floor failed requests t_floor=() port
  hello_image
  l=$(load1)
  # It fails when a request failed during the deploys: the figures stand,
  # and the row says how many failed.
  out=$("$src/bench/deploy/run.sh" "$build" "$ROUNDS" 2>&1) || true
  lib=$(awk '/^serving_median_ms/ {print $2}' <<<"$out")
  [ -n "$lib" ] || { echo "$out" >&2; return 1; }
  failed=$(awk '/^failed/ {print $2}' <<<"$out")
  requests=$(awk '/^requests/ {print $2}' <<<"$out")
  # bench/deploy measures the floor itself when it can (interleaved with
  # the deploys, on the tenant's network); otherwise it is measured here.
  floor=$(awk '/^floor_median_ms/ {print $2}' <<<"$out")
  if [ -n "$floor" ]; then
    row "deploy of a prebuilt image, call to serving" "\`bench/deploy\` (\`tl_deploy\`; $failed of $requests requests failed)" "$lib" \
      '`docker run -d --init` (tenant network, loopback port) to first answer' "$floor" "$l"
    return
  fi
  quiet "${docker[@]}" network create --label towlion.bench=floors floors-net
  for _ in $(seq "$ROUNDS"); do
    port=$(free_port)
    s=$(now)
    "${docker[@]}" run -d --init --label towlion.bench=floors --network floors-net \
      -p "127.0.0.1:$port:8000" towlion-bench/hello:v1 >"$work/cid"
    wait_http "http://127.0.0.1:$port/health"
    t_floor+=("$(since_ms "$s")")
    quiet "${docker[@]}" rm -f "$(cat "$work/cid")"
  done
  row "deploy of a prebuilt image, call to serving" "\`bench/deploy\` (\`tl_deploy\`; $failed of $requests requests failed)" "$lib" \
    '`docker run -d --init` (user network, loopback port) to first answer' \
    "$(median "${t_floor[@]}")" "$l"
}

# --- backup: towlion backup run against pg_dump, to /dev/null and fsynced ---
best_ms() { # best of ROUNDS_BK runs of "$@"
  local best=
  for _ in $(seq "${ROUNDS_BK:-3}"); do
    s=$(now); "$@" >/dev/null; t=$(since_ms "$s")
    [ -z "$best" ] || [ "$t" -lt "$best" ] && best=$t
  done
  echo "$best"
}
job_backup() {
  local l src f size t null=() fs=() lib=()
  src=$(db_url "$DB")
  l=$(load1)
  # Round by round (the load moves between them): the /dev/null floor,
  # the fsync floor (pg_dump -f fsyncs its file unless --no-sync: the
  # dump's bytes durable on the backup directory's disk, nothing else),
  # then the backup; the best of ROUNDS_BK (3) of each.
  for _ in $(seq "${ROUNDS_BK:-3}"); do
    s=$(now); sh -c "'$PGBIN/pg_dump' -Fc -Z0 -d '$src' > /dev/null"; null+=("$(since_ms "$s")")
    s=$(now); "$PGBIN/pg_dump" -Fc -Z0 -d "$src" -f "$TOWLION_BACKUP_DIR/floor.dump"
    fs+=("$(since_ms "$s")")
    rm -f "$TOWLION_BACKUP_DIR"/bk*
    s=$(now); "$TL" backup run --db "$DB" >/dev/null; lib+=("$(since_ms "$s")")
  done
  null=$(printf '%s\n' "${null[@]}" | sort -n | head -1)
  fs=$(printf '%s\n' "${fs[@]}" | sort -n | head -1)
  lib=$(printf '%s\n' "${lib[@]}" | sort -n | head -1)
  f=$(ls -t "$TOWLION_BACKUP_DIR" | grep '\.dump\.zst$' | head -1)
  size=$(( $(stat -c %s "$TOWLION_BACKUP_DIR/$f") >> 20 ))
  row "backup, $DB ($size MiB file)" '`towlion backup run`' "$lib" \
    '`pg_dump -Fc -Z0 > /dev/null`' "$null" "$l"
  row "backup, $DB" '`towlion backup run`' "$lib" \
    "\`pg_dump -Fc -Z0 -f\` ($(( $(stat -c %s "$TOWLION_BACKUP_DIR/floor.dump") >> 20 )) MiB, fsynced, same disk)" \
    "$fs" "$l"
  echo "$f" >"$work/backup-file"
}

# --- restore: towlion backup restore against pg_restore into an empty db ---
job_restore() {
  local l lib floor owner src
  [ -s "$work/backup-file" ] || job_backup
  [ -s "$TOWLION_BACKUP_DIR/floor.dump" ] || "$PGBIN/pg_dump" -Fc -Z0 -d "$(db_url "$DB")" -f "$TOWLION_BACKUP_DIR/floor.dump"
  owner=$("$PGBIN/psql" -X -At "$TOWLION_PG_URL" -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DB'")
  "$PGBIN/psql" -X -q "$TOWLION_PG_URL" -c "DROP DATABASE IF EXISTS floors_restore" \
    -c "CREATE DATABASE floors_restore OWNER $owner TEMPLATE template0" >/dev/null
  l=$(load1)
  ROUNDS_BK=1 floor=$(ROUNDS_BK=1 best_ms "$PGBIN/pg_restore" --no-owner --role="$owner" \
    -d "$(db_url floors_restore)" "$TOWLION_BACKUP_DIR/floor.dump")
  "$PGBIN/psql" -X -q "$TOWLION_PG_URL" -c "DROP DATABASE floors_restore" >/dev/null
  lib=$(ROUNDS_BK=1 best_ms "$TL" backup restore "$DB" "$(cat "$work/backup-file")" --yes)
  for d in $("$PGBIN/psql" -X -At "$TOWLION_PG_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE '${DB}\\_\\_pre\\_restore\\_%'"); do
    "$PGBIN/psql" -X -q "$TOWLION_PG_URL" -c "DROP DATABASE \"$d\" WITH (FORCE)" >/dev/null
  done
  row "restore, $DB" '`towlion backup restore --yes` (scratch db, checks, swap)' "$lib" \
    '`pg_restore` into an empty db' "$floor" "$l"
}

# --- list/inspect: the CLI against the Engine API by curl ---
job_list() {
  local l a b i
  for i in 1 2 3 4 5; do
    quiet "$TL" app create "flist$i"
    "${docker[@]}" run -d --init --label towlion.bench=floors --label "towlion.app=flist$i" \
      --label towlion.release=r1 --label towlion.service=app \
      towlion-test/busybox:latest sleep 3600 >/dev/null
  done
  l=$(load1)
  hyperfine -N -w 3 -r 30 --export-json "$work/list.json" \
    "$TL docker ps" \
    "curl -fsS --unix-socket $SOCK http://d/containers/json?filters=%7B%22label%22%3A%5B%22towlion.app%22%5D%7D" \
    "$TL status flist1" \
    "curl -fsS --unix-socket $SOCK http://d/containers/json?all=1&filters=%7B%22label%22%3A%5B%22towlion.app%3Dflist1%22%5D%7D" \
    >/dev/null 2>&1
  read -r a b c d < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(*[round(x["median"]*1000,1) for x in r])' "$work/list.json")
  row "list containers (5 apps)" '`towlion docker ps`' "$a" \
    '`curl --unix-socket` GET /containers/json by label' "$b" "$l"
  row "inspect one app" '`towlion status APP`' "$c" \
    '`curl --unix-socket` GET /containers/json of its label' "$d" "$l"
}

# --- provisioning: database, Redis user, bucket ---
job_provision() {
  local l i t_lib=() t_floor=() pw
  l=$(load1)
  for i in $(seq "$ROUNDS"); do
    quiet "$TL" app create "fp$rid$i"
    s=$(now); "$TL" -q db create "fp$rid$i" >/dev/null; t_lib+=("$(since_ms "$s")")
    pw=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    # The floor: one psql, one session, the same statements in essence.
    s=$(now)
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$TOWLION_PG_URL" \
      -c "CREATE ROLE ff$rid${i}_user LOGIN PASSWORD '$pw'" \
      -c "CREATE DATABASE ff$rid${i}_db OWNER ff$rid${i}_user" \
      -c "REVOKE ALL ON DATABASE ff$rid${i}_db FROM PUBLIC" >/dev/null
    t_floor+=("$(since_ms "$s")")
  done
  row "provision a database" '`towlion db create`' "$(median "${t_lib[@]}")" \
    '`psql`: CREATE ROLE, CREATE DATABASE, REVOKE' "$(median "${t_floor[@]}")" "$l"
  for i in $(seq "$ROUNDS"); do
    quiet "$TL" db drop "fp$rid$i" --yes
    "$PGBIN/psql" -X -q "$TOWLION_PG_URL" -c "DROP DATABASE ff$rid${i}_db" -c "DROP ROLE ff$rid${i}_user" >/dev/null
  done
  t_lib=() t_floor=()
  l=$(load1)
  local rhost=${TOWLION_REDIS_URL#redis://} rpw
  rpw=${rhost%@*}; rpw=${rpw#*:}; rhost=${rhost#*@}
  for i in $(seq "$ROUNDS"); do
    s=$(now); "$TL" -q redis create "fp$rid$i" >/dev/null; t_lib+=("$(since_ms "$s")")
    pw=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    s=$(now)
    REDISCLI_AUTH=$rpw redis-cli -h "${rhost%:*}" -p "${rhost#*:}" ACL SETUSER "ff$rid$i" on \
      ">$pw" "~ff$rid$i:*" "&ff$rid$i:*" +@all -@admin -@dangerous >/dev/null
    t_floor+=("$(since_ms "$s")")
    REDISCLI_AUTH=$rpw quiet redis-cli -h "${rhost%:*}" -p "${rhost#*:}" ACL DELUSER "ff$rid$i"
    quiet "$TL" redis drop "fp$rid$i"
  done
  row "provision a Redis user" '`towlion redis create`' "$(median "${t_lib[@]}")" \
    '`redis-cli ACL SETUSER`' "$(median "${t_floor[@]}")" "$l"
  t_lib=() t_floor=()
  l=$(load1)
  for i in $(seq "$ROUNDS"); do
    s=$(now); "$TL" -q s3 bucket create "fp$rid$i" >/dev/null; t_lib+=("$(since_ms "$s")")
    s=$(now)
    curl -fsS -o /dev/null -X PUT --aws-sigv4 "aws:amz:$TOWLION_S3_REGION:s3" \
      --user "$TOWLION_S3_ACCESS_KEY:$TOWLION_S3_SECRET_KEY" \
      -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
      "$TOWLION_S3_ENDPOINT/ff$rid$i-uploads"
    t_floor+=("$(since_ms "$s")")
    for b in "ff$rid$i-uploads" "fp$rid$i-uploads"; do
      curl -fsS -o /dev/null -X DELETE --aws-sigv4 "aws:amz:$TOWLION_S3_REGION:s3" \
        --user "$TOWLION_S3_ACCESS_KEY:$TOWLION_S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
        "$TOWLION_S3_ENDPOINT/$b" || true
    done
  done
  row "provision a bucket" '`towlion s3 bucket create`' "$(median "${t_lib[@]}")" \
    '`curl --aws-sigv4 -X PUT` the bucket' "$(median "${t_floor[@]}")" "$l"
}

# --- previews: preview up against clone + docker run + first answer ---
job_preview() {
  local l repo t_lib=() t_floor=() port
  hello_image
  repo=$work/repo
  mkdir -p "$repo/deploy"
  printf 'services:\n  app:\n    image: towlion-bench/hello:v1\n' >"$repo/deploy/docker-compose.yml"
  git -C "$repo" init -q -b main && git -C "$repo" add -A &&
    git -C "$repo" -c user.name=b -c user.email=b@b commit -qm pr
  quiet "$TL" app create fpv --domain fpv.floors.test
  quiet "$TL" route init --bind 127.0.0.1
  quiet "${docker[@]}" network create --label towlion.bench=floors floors-net || true
  l=$(load1)
  for _ in $(seq "$ROUNDS"); do
    s=$(now); "$TL" -q preview up fpv --pr 1 --git "$repo" --ref main >/dev/null
    wait_http -H "Host: pr-1.preview.fpv.floors.test" "http://127.0.0.1:$TOWLION_HTTP_PORT/health"
    t_lib+=("$(since_ms "$s")")
    "$TL" -q preview down fpv --pr 1 >/dev/null
    port=$(free_port)
    s=$(now)
    git clone -q --depth 1 "file://$repo" "$work/clone"
    "${docker[@]}" run -d --init --label towlion.bench=floors --network floors-net \
      -p "127.0.0.1:$port:8000" towlion-bench/hello:v1 >"$work/cid"
    wait_http "http://127.0.0.1:$port/health"
    t_floor+=("$(since_ms "$s")")
    quiet "${docker[@]}" rm -f "$(cat "$work/cid")"; rm -rf "$work/clone"
  done
  row "preview up to serving" '`towlion preview up`' "$(median "${t_lib[@]}")" \
    '`git clone` + `docker run -d --init` to first answer' "$(median "${t_floor[@]}")" "$l"
}

echo "floors: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)" >&2
for j in "${jobs[@]}"; do
  echo "job $j" >&2
  "job_$j"
done
