# shellcheck shell=bash
# What the template does, checked through Caddy and in the services behind
# it: items (PostgreSQL), the page (Chromium), uploads (the bucket, and
# another app's keys refused), the worker's result row and its email,
# migrations in production and in a preview's pr_N, backup and restore.
#
# Needs: the run's helpers (tl, tl_out, dk, on_server, say, fail,
# check_failed, retry, project_env, host_side, admin_sql, admin_redis,
# https_get, wait_serves, run_workflow, repo_commit, rgit) and APP, OTHER,
# HOST, DOMAIN, PR, SERVER_DIR, CADDY_ROOT_CERT.

# ---- images -----------------------------------------------------------------
# The template's bases: the images of tests/images that stand in for an
# upstream image (their directory names it in `upstream`).
template_image_list() {
  local f names=()
  for f in "$ROOT"/tests/images/*/upstream; do
    [[ -f $f ]] && names+=("$(basename "$(dirname "$f")")")
  done
  local IFS=,
  echo "${names[*]}"
}

# Each base under the upstream name the template's Dockerfiles start FROM.
template_images_ready() {
  local f svc name img
  for f in "$ROOT"/tests/images/*/upstream; do
    [[ -f $f ]] || continue
    svc=$(basename "$(dirname "$f")") name=$(< "$f")
    if ! dk image inspect "$name" > /dev/null 2>&1; then
      img=$(printf '%s\n' "${image_lines[@]}" | sed -n "s/^$svc=//p" | head -n 1)
      [[ $img ]] || { say "tests/images/build gave no $svc image"; return 1; }
      dk tag "$img" "$name"
    fi
    say "template base $name: $(dk image inspect -f '{{.Id}}' "$name" | cut -c1-19)"
  done
}

# ---- the app's database --------------------------------------------------------
app_db_url() { host_side "$(project_env "$APP" DATABASE_URL)" postgres 5432; }
app_sql() { on_server psql -X -At -v ON_ERROR_STOP=1 "$(app_db_url)" -c "$1"; }

# ---- the mail provider: tests/harness/mail-standin on the app's network ---------
# Only the app's tenant network reaches it, under the name EMAIL_API_URL
# gives; it runs in the template's Python base (server.py is stdlib only).
MAIL_CONTAINER=e2e-template-mail
mail_standin_start() {
  local python_image net
  python_image=$(< "$(ls "$ROOT"/tests/images/*/upstream | xargs grep -l python | head -n 1)")
  net=$(dk network ls --filter "label=towlion.project=$APP" --format '{{.Name}}' | head -n 1)
  [[ $net ]] || fail "no tenant network for $APP"
  dk run -d --name "$MAIL_CONTAINER" --init --network "$net" --network-alias "$MAIL_ALIAS" \
    -v "$ROOT/tests/harness/mail-standin/server.py:/srv/server.py:ro" \
    -e "TL_MAIL_TOKEN=$MAIL_TOKEN" -e TL_MAIL_SES_KEY=AKIAE2ETEMPLATE -e TL_MAIL_ADDRESS=0.0.0.0 \
    -e "TL_MAIL_PORT=$MAIL_PORT" "$python_image" python3 /srv/server.py > /dev/null
  retry 30 mail_requests > /dev/null || fail "the mail stand-in does not answer"
  say "mail stand-in on $net as $MAIL_ALIAS:$MAIL_PORT"
}
mail_requests() {
  dk exec "$MAIL_CONTAINER" python3 -c '
import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:%s/_standin/requests" % sys.argv[1], timeout=5).read().decode())' "$MAIL_PORT"
}

# ---- items ---------------------------------------------------------------------------
api() { # METHOD PATH [curl args...]: through Caddy; prints the body, fails on >= 400
  local m=$1 p=$2
  shift 2
  on_server curl -fsS --max-time 30 --cacert "$CADDY_ROOT_CERT" --resolve "$HOST:443:127.0.0.1" \
    -X "$m" "$@" "https://$HOST$p"
}

ITEM_NAME=
check_item() {
  ITEM_NAME="e2e item $(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')"
  local out id
  out=$(api POST /api/items -H 'Content-Type: application/json' \
    -d "{\"name\": \"$ITEM_NAME\", \"description\": \"made by tests/e2e/template\"}") ||
    fail "POST /api/items failed"
  id=$(jq -r .id <<< "$out")
  [[ $id =~ ^[0-9]+$ ]] || fail "POST /api/items answered $out"
  [[ $(app_sql "SELECT name FROM items WHERE id = $id") == "$ITEM_NAME" ]] ||
    fail "item $id is not a row in $APP's database"
  api GET /api/items | jq -e --arg n "$ITEM_NAME" 'map(.name) | index($n)' > /dev/null ||
    fail "GET /api/items does not list $ITEM_NAME"
  say "item $id: row in PostgreSQL, listed by the API"
}

# ---- the page in a browser -----------------------------------------------------------
# Headless Chromium renders / (scripts run, fetches answered) and dumps the
# DOM. It trusts the site's own key only (the SPKI of the certificate
# Caddy's local CA issued for HOST), and resolves HOST to the server.
check_browser() {
  local crt spki dom
  crt=$(find "$TOWLION_DATA_DIR" -path "*certificates/local/$HOST/$HOST.crt" -print -quit)
  [[ -s $crt ]] || fail "no certificate for $HOST in the data directory"
  spki=$(openssl x509 -in "$crt" -noout -pubkey | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
  # --dump-dom writes the DOM once the virtual time budget is spent, and
  # virtual time may run out while the page's fetch of /api/items is still
  # on the wire (CI: the page still said "Loading…"): render again, up to
  # three times, before calling the item missing.
  local try
  for try in 1 2 3; do
    rm -rf "$SERVER_DIR/chromium"
    mkdir -p "$SERVER_DIR/chromium"
    dom=$(on_server timeout 120 chromium --headless --no-sandbox --disable-gpu \
      --disable-dev-shm-usage --no-first-run --user-data-dir="$SERVER_DIR/chromium" \
      --host-resolver-rules="MAP $HOST 127.0.0.1" --ignore-certificate-errors-spki-list="$spki" \
      --virtual-time-budget=20000 --dump-dom "https://$HOST/" 2> "$SERVER_DIR/chromium.log") ||
      { tail -n 20 "$SERVER_DIR/chromium.log" >&2; fail "chromium could not render https://$HOST/"; }
    grep -qF "$ITEM_NAME" <<< "$dom" && break
    say "render $try of https://$HOST/ shows no item yet (the page's fetch was still running)"
  done
  printf '%s\n' "$dom" > "$SERVER_DIR/page.html"
  grep -qF "$ITEM_NAME" <<< "$dom" ||
    { head -c 2000 <<< "$dom" >&2; fail "the rendered page does not show the item \"$ITEM_NAME\""; }
  say "chromium rendered https://$HOST/ ($(wc -c <<< "$dom") bytes of DOM) with \"$ITEM_NAME\""
}

# ---- upload, bucket, worker, email --------------------------------------------------
s3_get_as() { # ACCESS SECRET BUCKET KEY OUT: GET with SigV4 on the server's S3 port; prints the status
  on_server curl -sS -o "$5" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$1:$2" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "http://127.0.0.1:9000/$3/$4"
}

check_upload_worker_mail() {
  local file=$SERVER_DIR/upload.bin out id key bucket sum status ak sk
  head -c 200000 /dev/urandom > "$file"
  sum=$(sha256sum "$file" | cut -c1-64)
  out=$(api POST /api/uploads -F "file=@$file;filename=e2e-upload.bin") ||
    { check_failed "POST /api/uploads failed"; return 0; }
  id=$(jq -r .id <<< "$out") key=$(jq -r .key <<< "$out")
  [[ $id =~ ^[0-9]+$ && $key && $key != null ]] || { check_failed "POST /api/uploads answered $out"; return 0; }
  bucket=$(project_env "$APP" S3_BUCKET)
  [[ $bucket ]] || bucket=$APP-uploads
  rm -f "$SERVER_DIR/upload.back"
  if tl -q s3 get "$bucket/$key" "$SERVER_DIR/upload.back" > /dev/null 2>&1 &&
    cmp -s "$file" "$SERVER_DIR/upload.back"; then
    say "upload $id: object $bucket/$key, the bytes sent"
  else
    check_failed "the upload is not the object $bucket/$key"
  fi
  # The app's own keys read it; the other app's keys do not.
  ak=$(project_env "$APP" S3_ACCESS_KEY) sk=$(project_env "$APP" S3_SECRET_KEY)
  status=$(s3_get_as "$ak" "$sk" "$bucket" "$key" /dev/null) || true
  [[ $status == 200 ]] || check_failed "$APP's own S3 keys get $status for its object"
  ak=$(project_env "$OTHER" S3_ACCESS_KEY) sk=$(project_env "$OTHER" S3_SECRET_KEY)
  if [[ -z $ak || -z $sk ]]; then
    check_failed "$OTHER has no S3 keys of its own to try $APP's object with"
  else
    status=$(s3_get_as "$ak" "$sk" "$bucket" "$key" /dev/null) || true
    [[ $status == 403 ]] || check_failed "$OTHER's S3 keys get $status (not 403) for $APP's object"
    say "$OTHER's keys on $bucket/$key: $status"
  fi
  # The worker's result row: size and SHA-256 of the bytes, then the email.
  UPLOAD_ID=$id
  retry 120 upload_emailed || true
  local row
  row=$(app_sql "SELECT size || ' ' || sha256 || ' ' || emailed FROM upload_results WHERE upload_id = $id")
  if [[ $row != "200000 $sum "* ]]; then
    check_failed "no result row of the worker for upload $id (got \"$row\")"
    dk logs --tail 20 "$(dk ps -q --filter "label=towlion.project=$APP" --filter label=towlion.service=celery-worker | head -n 1)" >&2 || true
    return 0
  fi
  say "worker: result row for upload $id ($row)"
  local mails
  mails=$(mail_requests) || { check_failed "cannot read the mail stand-in's record"; return 0; }
  jq -e --arg f e2e-upload.bin 'map(select(.provider == "postmark" and .status == 200
      and .headers["x-postmark-server-token"] == "(the token)"
      and (.body.Subject | contains($f)))) | length == 1' <<< "$mails" > /dev/null ||
    { check_failed "the stand-in did not get exactly one accepted email about the upload: $mails"; return 0; }
  [[ $row == *" true" ]] || check_failed "the email was sent but the row says \"$row\" (emailed is not true)"
  say "email: the stand-in got one Postmark message with the server token"
}

UPLOAD_ID=
upload_emailed() { [[ $(app_sql "SELECT emailed FROM upload_results WHERE upload_id = $UPLOAD_ID" 2> /dev/null) == t ]]; }

# ---- migrations ------------------------------------------------------------------------
# A new Alembic revision on top of the template's head, in the work tree.
migration_add() { # WORKTREE NAME UPGRADE DOWNGRADE
  /usr/bin/python3 - "$@" << 'EOF'
import glob, os, re, sys
work, name, up, down = sys.argv[1:]
(versions,) = {os.path.dirname(p) for p in glob.glob(work + "/**/alembic/versions/*.py", recursive=True)}
revs, downs = {}, set()
for p in glob.glob(versions + "/*.py"):
    src = open(p).read()
    r = re.search(r'^revision\s*=\s*["\']([^"\']+)', src, re.M)
    d = re.search(r'^down_revision\s*=\s*["\']([^"\']+)', src, re.M)
    if r:
        revs[r.group(1)] = p
    if d:
        downs.add(d.group(1))
(head,) = set(revs) - downs
with open(os.path.join(versions, "%s.py" % name), "w") as f:
    f.write('''"""%s (added by tests/e2e/template)

Revision ID: %s
Revises: %s
"""
from alembic import op
import sqlalchemy as sa

revision = "%s"
down_revision = "%s"
branch_labels = None
depends_on = None


def upgrade() -> None:
    %s


def downgrade() -> None:
    %s
''' % (name, name, head, name, head, up, down))
EOF
}

# ---- settings: production-only, and the token nowhere else ------------------------------
# The deploy workflow sends what its PRODUCTION_ONLY lists (EMAIL_API_KEY)
# with --production-only, even though the operator had set it without.
check_production_only() {
  local doc
  doc=$(tl_out --json env list "$APP") || { check_failed "env list $APP --json failed"; return 0; }
  jq -e '.settings | map({(.key): .production_only}) | add
         | .EMAIL_API_KEY == true and .EMAIL_API_URL == false and .EMAIL_FROM == false' \
    <<< "$doc" > /dev/null ||
    { check_failed "after the deploy workflow, EMAIL_API_KEY is not the only production-only key: $doc"; return 0; }
  say "settings: EMAIL_API_KEY production-only, the other EMAIL_* shared with previews"
}

# The environment of the running container of PROJECT's SERVICE, one
# KEY=VALUE a line (values stay in the caller: never said).
container_env() { # PROJECT SERVICE
  local id
  id=$(dk ps -q --filter "label=towlion.project=$1" --filter "label=towlion.service=$2" | head -n 1)
  [[ $id ]] || return 1
  dk inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id"
}

# The preview has the app's settings but not the production-only token,
# which production's API has.
check_preview_settings() {
  local penv prod_env before=${#FAILED_CHECKS[@]}
  penv=$(container_env "$PREVIEW_PROJECT" app) || { check_failed "no running app container of $PREVIEW_PROJECT"; return 0; }
  prod_env=$(container_env "$APP" app) || { check_failed "no running app container of $APP"; return 0; }
  if ! grep -qFx "EMAIL_API_URL=http://$MAIL_ALIAS:$MAIL_PORT" <<< "$penv" ||
    ! grep -qFx "EMAIL_FROM=shop@$DOMAIN" <<< "$penv"; then
    check_failed "the preview's API lacks the app's shared settings (EMAIL_API_URL, EMAIL_FROM)"
  fi
  if grep -q '^EMAIL_API_KEY=' <<< "$penv" || grep -qF "$MAIL_TOKEN" <<< "$penv"; then
    check_failed "the preview's API has the production-only EMAIL_API_KEY"
  fi
  grep -qFx "EMAIL_API_KEY=$MAIL_TOKEN" <<< "$prod_env" ||
    check_failed "production's API lost EMAIL_API_KEY"
  ((${#FAILED_CHECKS[@]} > before)) ||
    say "preview settings: EMAIL_API_URL and EMAIL_FROM, no EMAIL_API_KEY (production has it)"
}

# The token was set by the operator (stdin) and by the workflow (stdin over
# SSH): it is in no output of the run and in no file of the platform's
# state or the apps' checkouts but the app's settings file.
check_token_nowhere() {
  local settings=$TOWLION_DATA_DIR/towlion/apps/$APP/settings.env hits before=${#FAILED_CHECKS[@]}
  grep -qF "$MAIL_TOKEN" "$settings" 2> /dev/null ||
    check_failed "the token is not in $settings (where else did it go?)"
  if grep -qF "$MAIL_TOKEN" "$SERVER_DIR/run.log"; then
    check_failed "the token is in the run's output (a workflow job's log or towlion's output)"
  fi
  hits=$(grep -rlF "$MAIL_TOKEN" "$TOWLION_DATA_DIR/towlion" "$TOWLION_APPS_DIR" 2> /dev/null |
    grep -vFx "$settings" || true)
  [[ -z $hits ]] || check_failed "the token is in: $(tr '\n' ' ' <<< "$hits")"
  ((${#FAILED_CHECKS[@]} > before)) || say "the token: only in $settings (and the containers' environment)"
}

# ---- the preview ----------------------------------------------------------------------
PREVIEW_PROJECT=
check_preview_up() {
  PREVIEW_PROJECT=$APP-pr-$PR
  rgit checkout -q -b e2e-column
  migration_add "$SERVER_DIR/src" e2e_column \
    "op.add_column('items', sa.Column('e2e_note', sa.Text(), nullable=True))" \
    "op.drop_column('items', 'e2e_note')"
  SHA_PR=$(repo_commit "a column for the preview")
  rgit checkout -q main
  run_workflow preview pull_request e2e-column "$SHA_PR" opened ||
    { check_failed "the preview workflow (opened) failed"; return 0; }
  local phost="pr-$PR.preview.$APP.$DOMAIN" schema=pr_$PR
  wait_serves "$phost" /api/health '"status":"ok"' 60 || check_failed "the preview does not serve /api/health"
  # Its migration ran in pr_N, and only there.
  [[ $(admin_sql_db "${APP//-/_}_db" -c "SELECT count(*) FROM information_schema.columns
        WHERE table_schema = '$schema' AND table_name = 'items' AND column_name = 'e2e_note'") == 1 ]] ||
    check_failed "$schema.items has no column e2e_note"
  [[ $(app_sql "SELECT count(*) FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'items' AND column_name = 'e2e_note'") == 0 ]] ||
    check_failed "production's items got the preview's column"
  [[ $(app_sql "SELECT version_num FROM public.alembic_version") == e2e_v2 ]] ||
    check_failed "production's alembic_version moved: $(app_sql 'SELECT version_num FROM public.alembic_version')"
  # What close must remove, named now.
  local penv=$TOWLION_DATA_DIR/towlion/apps/$APP/previews/pr-$PR.env
  PREVIEW_REDIS_USER=$(sed -n 's/^REDIS_URL=//p' "$penv" | sed -E 's#^"?redis://([^:@]*).*#\1#')
  PREVIEW_ROLE=$(sed -n 's/^DATABASE_URL=//p' "$penv" | sed -E 's#^"?[a-z]+://([^:@]*).*#\1#')
  [[ $PREVIEW_REDIS_USER && $PREVIEW_ROLE ]] || check_failed "the preview's env file names no Redis user or role"
  [[ $(dk ps -q --filter "label=towlion.project=$PREVIEW_PROJECT" | wc -l) -gt 0 ]] ||
    check_failed "no container of $PREVIEW_PROJECT runs"
  check_preview_settings
  say "preview $PREVIEW_PROJECT: serves, e2e_note in $schema.items only, role $PREVIEW_ROLE, Redis user $PREVIEW_REDIS_USER"
}

# A push to the pull request's branch (`synchronize`): the workflow brings
# the preview up again at the new head, whose second migration runs in
# pr_N on top of the first; production is still untouched.
check_preview_update() {
  [[ $PREVIEW_PROJECT ]] || { check_failed "no preview to update"; return 0; }
  local phost="pr-$PR.preview.$APP.$DOMAIN" schema=pr_$PR
  rgit checkout -q e2e-column
  migration_add "$SERVER_DIR/src" e2e_column2 \
    "op.add_column('items', sa.Column('e2e_note2', sa.Text(), nullable=True))" \
    "op.drop_column('items', 'e2e_note2')"
  SHA_PR=$(repo_commit "a second column for the preview")
  rgit checkout -q main
  run_workflow preview pull_request e2e-column "$SHA_PR" synchronize ||
    { check_failed "the preview workflow (synchronize) failed"; return 0; }
  wait_serves "$phost" /api/health '"status":"ok"' 60 || check_failed "the updated preview does not serve /api/health"
  [[ $(admin_sql_db "${APP//-/_}_db" -c "SELECT version_num FROM $schema.alembic_version") == e2e_column2 ]] ||
    check_failed "$schema.alembic_version is not at the pushed head e2e_column2"
  [[ $(admin_sql_db "${APP//-/_}_db" -c "SELECT count(*) FROM information_schema.columns
        WHERE table_schema = '$schema' AND table_name = 'items' AND column_name = 'e2e_note2'") == 1 ]] ||
    check_failed "$schema.items has no column e2e_note2 after the update"
  [[ $(app_sql "SELECT count(*) FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'items' AND column_name LIKE 'e2e_note%'") == 0 ]] ||
    check_failed "production's items got a preview's column"
  [[ $(app_sql "SELECT version_num FROM public.alembic_version") == e2e_v2 ]] ||
    check_failed "production's alembic_version moved on the preview's update"
  say "preview $PREVIEW_PROJECT updated to ${SHA_PR:0:7}: e2e_note2 in $schema.items only"
}

check_preview_down() {
  [[ $PREVIEW_PROJECT ]] || { check_failed "no preview to close"; return 0; }
  run_workflow preview pull_request e2e-column "$SHA_PR" closed ||
    { check_failed "the preview workflow (closed) failed"; return 0; }
  local schema=pr_$PR phost="pr-$PR.preview.$APP.$DOMAIN" left
  left=$(dk ps -aq --filter "label=towlion.project=$PREVIEW_PROJECT" | wc -l)
  ((left == 0)) || check_failed "$left container(s) of $PREVIEW_PROJECT left"
  [[ -z $(dk network ls -q --filter "label=towlion.project=$PREVIEW_PROJECT") ]] ||
    check_failed "the network of $PREVIEW_PROJECT is left"
  [[ $(admin_sql_db "${APP//-/_}_db" -c "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '$schema'") == 0 ]] ||
    check_failed "schema $schema is left"
  [[ -z $PREVIEW_ROLE || $(admin_sql -c "SELECT count(*) FROM pg_roles WHERE rolname = '$PREVIEW_ROLE'") == 0 ]] ||
    check_failed "role $PREVIEW_ROLE is left"
  [[ -z $PREVIEW_REDIS_USER || -z $(admin_redis ACL USERS | grep -Fx "$PREVIEW_REDIS_USER") ]] ||
    check_failed "Redis user $PREVIEW_REDIS_USER is left"
  # Previews get no bucket of their own (the template answers 503 to an
  # upload there): nothing of pr-N may be in the app's bucket, and no
  # bucket named after the preview may exist.
  if tl_out s3 ls 2> /dev/null | grep -q -- "$PREVIEW_PROJECT"; then
    check_failed "a bucket of $PREVIEW_PROJECT is left"
  fi
  if tl_out route list | grep -qF "$phost"; then check_failed "the route $phost is left"; fi
  [[ ! -e $(find "$TOWLION_DATA_DIR" -name "$PREVIEW_PROJECT.caddy" -print -quit) ]] ||
    check_failed "the site file $PREVIEW_PROJECT.caddy is left"
  [[ ! -d $TOWLION_APPS_DIR/$PREVIEW_PROJECT ]] || check_failed "$TOWLION_APPS_DIR/$PREVIEW_PROJECT is left"
  [[ ! -e $TOWLION_DATA_DIR/towlion/apps/$APP/previews/pr-$PR.env ]] || check_failed "the preview's env file is left"
  [[ $(https_get "$phost" /api/health) != "200 "* ]] || check_failed "$phost still serves"
  wait_serves "$HOST" /api/health '"status":"ok"' 10 || check_failed "production stopped serving"
  say "preview closed: containers, network, schema, role, Redis user, route, checkout gone"
}

# ---- backup and restore ----------------------------------------------------------------
check_backup_restore() {
  local db=${APP//-/_}_db json file before after
  before=$(app_sql "SELECT string_agg(name, '|' ORDER BY id) FROM items")
  [[ $before == *"$ITEM_NAME"* ]] || check_failed "the items before the backup lack $ITEM_NAME"
  json=$(tl_out --json backup run --db "$db")
  file=$(jq -r '.backups[0].file // empty' <<< "$json")
  [[ $(jq -r '.backups[0].ok' <<< "$json") == true && $file ]] || fail "backup run: $json"
  tl backup verify "$file"
  api POST /api/items -H 'Content-Type: application/json' -d '{"name": "after the backup"}' > /dev/null ||
    check_failed "POST /api/items after the backup failed"
  tl backup restore "$db" "$file" --yes
  after=$(app_sql "SELECT string_agg(name, '|' ORDER BY id) FROM items")
  [[ $after == "$before" ]] || check_failed "after the restore the items are \"$after\", not \"$before\""
  wait_serves "$HOST" /api/health '"status":"ok"' 60 || check_failed "the app does not serve after the restore"
  api GET /api/items | jq -e --arg n "$ITEM_NAME" 'map(.name) | index($n)' > /dev/null ||
    check_failed "after the restore the API does not list $ITEM_NAME"
  say "backup $file restored: the items are the backup's, and the API lists them"
}
