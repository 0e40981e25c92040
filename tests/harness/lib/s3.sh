# shellcheck shell=bash
# S3: @20minutes/s3rver behind a SigV4 gate (lib/s3-server.js), installed by
# scripts/setup under $TL_HARNESS_S3_PREFIX.  No network is needed here.

# _s3_curl ACCESS SECRET CURL-ARGS...: a SigV4-signed request with curl's own
# signer.  curl does not send x-amz-content-sha256, which S3 requires, so we
# add it (and curl signs it, as it signs every header we pass).
_s3_curl() {
  local ak=$1 sk=$2; shift 2
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:${TOWLION_S3_REGION}:s3" --user "$ak:$sk" \
       -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

svc_s3_start() {
  local d=$HARNESS_DIR/s3 port pid ak sk
  local module=$TL_HARNESS_S3_PREFIX/node_modules/@20minutes/s3rver
  command -v node > /dev/null || { warn "s3: node missing (apt-get install nodejs)"; return 1; }
  [[ -f $module/lib/s3rver.js ]] ||
    { warn "s3: $module missing: run scripts/setup (it installs the S3 server from npm)"; return 1; }
  port=$(free_port)
  ak=TLTEST$(rand_hex 7 | tr a-f A-F)   # 20 characters, like an AWS key id
  sk=$(rand_hex 20)                     # 40 characters
  mkdir -p "$d/data"

  env_export TOWLION_S3_ENDPOINT "http://127.0.0.1:$port"
  env_export TOWLION_S3_REGION us-east-1
  env_export TOWLION_S3_ACCESS_KEY "$ak"
  env_export TOWLION_S3_SECRET_KEY "$sk"
  # s3rver has one key and no user API: offsite backups, which never use
  # the platform's keys, are configured with that same key here.  The
  # s3iam service (moto) proves the real thing: a backup user of its own.
  env_export TOWLION_BACKUP_S3_ACCESS_KEY "$ak"
  env_export TOWLION_BACKUP_S3_SECRET_KEY "$sk"
  # ... and per-app users cannot be made: say so (app provisioning then
  # fails clearly, app destroy has no user to remove).
  env_export TOWLION_S3_ADMIN_API none

  log "s3: starting on 127.0.0.1:$port"
  # The secrets go through the environment of the node process only (not its
  # command line, which every user can read). s3rver makes its listing
  # continuation tokens with DES, which OpenSSL 3 only offers through its
  # legacy provider: without it every truncated listing page is a 500.
  pid=$(TL_S3_MODULE=$module TL_S3_ADDRESS=127.0.0.1 TL_S3_PORT=$port TL_S3_DIR=$d/data \
        TL_S3_REGION=$TOWLION_S3_REGION TL_S3_ACCESS_KEY=$ak TL_S3_SECRET_KEY=$sk \
        TL_S3_PIDFILE=$d/s3.pid \
        spawn "$d/s3.log" node --openssl-legacy-provider "$HARNESS_LIB/s3-server.js")
  echo "$pid" > "$(pidfile s3)"
  wait_until "s3" "$d/s3.log" "$pid" test -s "$d/s3.pid" || return 1

  # Prove that signatures are enforced before anyone relies on it.
  local out
  out=$(svc_s3_check) || { warn "s3: $out"; log_tail "$d/s3.log"; return 1; }
}

svc_s3_check() {
  local code
  # A correct signature lists the buckets ...
  code=$(_s3_curl "$TOWLION_S3_ACCESS_KEY" "$TOWLION_S3_SECRET_KEY" -o /dev/null -w '%{http_code}' \
         "$TOWLION_S3_ENDPOINT/" 2>&1) || { echo "no answer at $TOWLION_S3_ENDPOINT ($code)"; return 1; }
  [[ $code == 200 ]] || { echo "signed ListBuckets answered HTTP $code"; return 1; }
  # ... a wrong secret and an unsigned request are refused.
  code=$(_s3_curl "$TOWLION_S3_ACCESS_KEY" "wrong$TOWLION_S3_SECRET_KEY" -o /dev/null -w '%{http_code}' \
         "$TOWLION_S3_ENDPOINT/" 2>&1) || true
  [[ $code == 403 ]] || { echo "a wrong secret key was not refused (HTTP $code)"; return 1; }
  code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$TOWLION_S3_ENDPOINT/" 2>&1) || true
  [[ $code == 403 ]] || { echo "an unsigned request was not refused (HTTP $code)"; return 1; }
  echo "$TOWLION_S3_ENDPOINT ($TOWLION_S3_REGION), SigV4 enforced"
}

svc_s3_stop() {
  stop_service s3 TERM
}
