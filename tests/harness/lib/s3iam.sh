# shellcheck shell=bash
# s3iam: a second S3 server that enforces per-key permissions, for the
# object-storage isolation tests and per-app keys (tl_s3_app_*): moto's
# server (the `python3` on PATH with the `moto` package; the machine image
# ships it, scripts/setup does not need PyPI) with IAM authentication ON.
# moto then checks every SigV4 signature against the keys of its IAM users
# and evaluates their policies for each S3 and IAM action.  It serves every
# AWS API on one port (the service comes from the signature's credential
# scope), so S3 and IAM share one endpoint.
#
# Why in addition to the s3 service (s3rver) and not instead of it: moto's
# signature check differs from AWS for keys with spaces or '+', ignores the
# region and the payload hash; s3rver checks all of these, so the S3 client
# tests stay on it.  s3rver has one key and no user API, so it cannot prove
# that one key is refused where another is allowed; moto can.
#
# Bootstrap: moto lets the first INITIAL_NO_AUTH_ACTION_COUNT requests
# through unauthenticated.  We set it to 3 and spend exactly those three on
# creating the platform's admin user (CreateUser, PutUserPolicy "*",
# CreateAccessKey); from then on every request needs a valid key.
#
# Harness-only weakness (docs/security.md, "Object storage"): moto's
# /moto-api/ endpoints (reset, reset-auth) are unauthenticated.  Tests never
# call them; a real object store has no such door.

# Python with moto: TL_HARNESS_S3IAM_PYTHON, else the first python3 on PATH.
_s3iam_python() {
  local py=${TL_HARNESS_S3IAM_PYTHON:-python3}
  py=$(command -v "$py") || return 1
  "$py" -c 'import moto.server' > /dev/null 2>&1 || return 1
  printf '%s\n' "$py"
}

# _s3iam_curl ACCESS SECRET SERVICE CURL-ARGS...: a SigV4-signed request with
# curl's own signer.  The key pair goes to curl on stdin (a config file), not
# on its command line.  curl does not send x-amz-content-sha256, which S3
# requires, so we add it (and curl signs it, as it signs every header).
_s3iam_curl() {
  local ak=$1 sk=$2 svc=$3; shift 3
  printf 'user = "%s:%s"\n' "$ak" "$sk" |
    curl -sS --max-time 10 -K - --aws-sigv4 "aws:amz:us-east-1:$svc" \
         -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# _s3iam_iam ACCESS SECRET ACTION NAME=VALUE...: one IAM query API call.
_s3iam_iam() {
  local ak=$1 sk=$2 action=$3 kv; shift 3
  local args=(--data-urlencode "Action=$action" --data-urlencode "Version=2010-05-08")
  for kv in "$@"; do args+=(--data-urlencode "$kv"); done
  _s3iam_curl "$ak" "$sk" iam -f "${args[@]}" "$TL_TEST_S3IAM_ENDPOINT/"
}

_s3iam_xml() {  # _s3iam_xml TAG: the text of the first <TAG> on stdin
  sed -n "s/.*<$1>\([^<]*\)<\/$1>.*/\1/p" | head -n1
}

svc_s3iam_start() {
  local d=$HARNESS_DIR/s3iam port pid py out ak sk
  py=$(_s3iam_python) ||
    { warn "s3iam: no python3 with moto on PATH (the machine image's pyenv python ships it; or set TL_HARNESS_S3IAM_PYTHON)"; return 1; }
  port=$(free_port)
  mkdir -p "$d"
  env_export TL_TEST_S3IAM_ENDPOINT "http://127.0.0.1:$port"

  log "s3iam: starting moto (IAM auth on) on 127.0.0.1:$port"
  pid=$(INITIAL_NO_AUTH_ACTION_COUNT=3 spawn "$d/s3iam.log" "$py" -m moto.server -H 127.0.0.1 -p "$port")
  echo "$pid" > "$(pidfile s3iam)"
  wait_until "s3iam" "$d/s3iam.log" "$pid" tcp_open 127.0.0.1 "$port" || return 1

  # The three unauthenticated requests: the platform's admin user.
  local policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
  local boot=AKIABOOTSTRAP0000000
  _s3iam_iam "$boot" bootstrap CreateUser UserName=towlion-admin > /dev/null &&
    _s3iam_iam "$boot" bootstrap PutUserPolicy UserName=towlion-admin \
               PolicyName=towlion-admin "PolicyDocument=$policy" > /dev/null &&
    out=$(_s3iam_iam "$boot" bootstrap CreateAccessKey UserName=towlion-admin) ||
    { warn "s3iam: cannot create the admin user through IAM"; log_tail "$d/s3iam.log"; return 1; }
  ak=$(_s3iam_xml AccessKeyId <<< "$out")
  sk=$(_s3iam_xml SecretAccessKey <<< "$out")
  [[ -n $ak && -n $sk ]] || { warn "s3iam: CreateAccessKey gave no key"; return 1; }
  env_export TL_TEST_S3IAM_ACCESS_KEY "$ak"
  env_export TL_TEST_S3IAM_SECRET_KEY "$sk"

  # Prove that keys are enforced before anyone relies on it.
  out=$(svc_s3iam_check) || { warn "s3iam: $out"; log_tail "$d/s3iam.log"; return 1; }
}

svc_s3iam_check() {
  local code e=$TL_TEST_S3IAM_ENDPOINT ak=$TL_TEST_S3IAM_ACCESS_KEY sk=$TL_TEST_S3IAM_SECRET_KEY
  # A correct signature lists the buckets ...
  code=$(_s3iam_curl "$ak" "$sk" s3 -o /dev/null -w '%{http_code}' "$e/" 2>&1) ||
    { echo "no answer at $e ($code)"; return 1; }
  [[ $code == 200 ]] || { echo "signed ListBuckets answered HTTP $code"; return 1; }
  # ... a wrong secret, an unknown key and an unsigned request are refused.
  code=$(_s3iam_curl "$ak" "wrong$sk" s3 -o /dev/null -w '%{http_code}' "$e/" 2>&1) || true
  [[ $code == 403 ]] || { echo "a wrong secret key was not refused (HTTP $code)"; return 1; }
  code=$(_s3iam_curl AKIANOSUCHKEY0000000 "$sk" s3 -o /dev/null -w '%{http_code}' "$e/" 2>&1) || true
  [[ $code == 403 ]] || { echo "an unknown access key was not refused (HTTP $code)"; return 1; }
  # moto answers a request without Authorization with 500 (nothing to
  # parse): refused all the same.
  code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$e/" 2>&1) || true
  [[ $code != 2* ]] || { echo "an unsigned request was not refused (HTTP $code)"; return 1; }
  echo "$e, moto with IAM: keys and policies enforced"
}

svc_s3iam_stop() {
  stop_service s3iam TERM
}
