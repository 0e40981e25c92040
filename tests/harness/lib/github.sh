# shellcheck shell=bash
# GitHub: a local stand-in for GitHub's REST API (github-standin/server.py,
# Python standard library only) that keeps repos, PRs, comments, issues and
# deployments in memory and records every request (GET /_standin/requests).
# Tests seed PRs with POST /_standin/prs; see server.py for the admin API.

svc_github_start() {
  local d=$HARNESS_DIR/github token pid
  [[ -x /usr/bin/python3 ]] || { warn "github: /usr/bin/python3 missing"; return 1; }
  mkdir -p "$d"
  token=ghs_$(rand_hex 18)   # shaped like a GitHub App installation token
  log "github: starting the API stand-in"
  # The server binds port 0 (the kernel's pick, so nobody can take it in
  # between) and writes it to $d/port; the token goes through its environment;
  # --dir puts DIR on its command line, where stop's leftover sweep looks.
  pid=$(TL_GH_TOKEN=$token TL_GH_ADDRESS=127.0.0.1 TL_GH_PORT=0 \
        TL_GH_PORTFILE=$d/port TL_GH_PIDFILE=$d/github.pid \
        spawn "$d/github.log" /usr/bin/python3 "$HARNESS_LIB/../github-standin/server.py" --dir "$d")
  echo "$pid" > "$(pidfile github)"
  wait_until "github" "$d/github.log" "$pid" test -s "$d/github.pid" || return 1
  env_export TOWLION_GITHUB_API "http://127.0.0.1:$(cat "$d/port")"
  env_export TOWLION_GITHUB_TOKEN "$token"
  env_export TL_TEST_GITHUB_STANDIN "$TOWLION_GITHUB_API"
  local out
  out=$(svc_github_check) || { warn "github: $out"; log_tail "$d/github.log"; return 1; }
}

svc_github_check() {
  local code
  code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$TL_TEST_GITHUB_STANDIN/_standin/health" 2>&1) ||
    { echo "no answer at $TL_TEST_GITHUB_STANDIN ($code)"; return 1; }
  [[ $code == 200 ]] || { echo "health answered HTTP $code"; return 1; }
  # The token is enforced: a request without it is refused.
  code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$TOWLION_GITHUB_API/repos/x/y" 2>&1) || true
  [[ $code == 401 ]] || { echo "a request without the token was not refused (HTTP $code)"; return 1; }
  echo "$TOWLION_GITHUB_API, bearer token enforced"
}

svc_github_stop() {
  stop_service github TERM
}
