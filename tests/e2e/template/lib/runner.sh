# shellcheck shell=bash
# The GitHub side: the app's repository, the GitHub API, and a runner that
# runs the app's workflows (lib/workflow.py).
#
# - "GitHub" serves repositories from $SERVER_DIR/github/OWNER/NAME.git,
#   so github.server_url is file://$SERVER_DIR/github: the runner's
#   checkout and the server's `deploy --git` clone from there.
# - github.api_url is tests/harness/github-standin (deployments, statuses,
#   on the machine's loopback, where the runner is).
# - The runner is the machine itself, as a fresh virtual machine would
#   be for it: a mount namespace of its own with an empty /usr/local and
#   /tmp, and an /etc whose changes (ldconfig's cache) stay in the run's
#   directory; HOME is a new directory. Its git finds libtowlion's
#   release (TOWLION_REF) at this checkout's committed HEAD through a
#   url.insteadOf in that HOME, so the workflow's client build builds the
#   code under test. It keeps the network: `apt-get` reaches Debian's
#   mirror, and SSH reaches the server through lib/sshd.sh's forwarder.
#   A compiler cache shared by the runs (TL_E2E_CCACHE_DIR) keeps the
#   client builds after the first one short.
#
# Needs: SERVER_DIR, ROOT, HERE, REPO, APP, DOMAIN, say, fail.

repo_bare() { printf '%s\n' "$SERVER_DIR/github/$REPO.git"; }
repo_work() { printf '%s\n' "$SERVER_DIR/src"; }

rgit() { git -C "$(repo_work)" -c user.name=e2e -c user.email=e2e@example.test "$@"; }

# The repository made from the template ("Use this template").
repo_init() { # TEMPLATE_DIR
  local bare work
  bare=$(repo_bare) work=$(repo_work)
  mkdir -p "$(dirname "$bare")"
  git init -q --bare -b main "$bare"
  git init -q -b main "$work"
  # What git would carry: the template's files without build leftovers.
  (cd "$1" && { git ls-files -co --exclude-standard -z 2> /dev/null || find . -type f -print0; }) |
    tar -C "$1" --null -T - -cf - | tar -C "$work" -xf -
  rgit remote add origin "$bare"
}

# Commit everything in the work tree on the current branch, push it; print
# the commit id.
repo_commit() { # MESSAGE
  rgit add -A > /dev/null
  rgit commit -q -m "$1" > /dev/null
  rgit push -q origin HEAD > /dev/null 2>&1
  # GitHub knows what was pushed: deployments may name it.
  [[ -z ${GITHUB_API:-} ]] || curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"repo\": \"$REPO\", \"refs\": [\"$(rgit rev-parse HEAD)\"]}" \
    "$GITHUB_API/_standin/repos" > /dev/null
  rgit rev-parse HEAD
}

# ---- the GitHub API stand-in -------------------------------------------------
github_standin_start() {
  local out
  out=$("$ROOT/tests/harness/github-standin/start" "$SERVER_DIR/github-api")
  GITHUB_API=$(sed -n 's/^export TL_TEST_GITHUB_STANDIN=//p' <<< "$out")
  GITHUB_TOKEN=$(sed -n 's/^export TOWLION_GITHUB_TOKEN=//p' <<< "$out")
  [[ $GITHUB_API && $GITHUB_TOKEN ]] || fail "the GitHub stand-in gave no address or token"
  curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"repo\": \"$REPO\"}" \
    "$GITHUB_API/_standin/repos" > /dev/null
}

github_state() { curl -fsS "$GITHUB_API/_standin/state"; }

# The states the workflow reported for its deployment of SHA, in order.
github_deployment_states() { # SHA
  github_state | jq -r --arg r "$REPO" --arg sha "$1" \
    '[.[$r].deployments[] | select(.ref == $sha) | .statuses[].state] | join(" ")'
}

runner_standins_stop() {
  [[ -d $SERVER_DIR/github-api ]] && "$ROOT/tests/harness/github-standin/stop" "$SERVER_DIR/github-api" > /dev/null 2>&1
  return 0
}

# ---- the runner ---------------------------------------------------------------
# libtowlion as the workflows fetch it, at this checkout's HEAD tagged
# with every TOWLION_REF the workflows name.
runner_prepare() {
  local d=$SERVER_DIR/runner refs ref
  mkdir -p "$d"
  github_standin_start
  git clone -q --bare --no-tags "$ROOT" "$d/libtowlion.git"
  refs=$(/usr/bin/python3 - "$(repo_work)/.github/workflows" << 'EOF'
import glob, sys, yaml
refs = set()
for f in glob.glob(sys.argv[1] + "/*.yml"):
    wf = yaml.safe_load(open(f))
    for scope in [wf] + list(wf.get("jobs", {}).values()):
        ref = (scope.get("env") or {}).get("TOWLION_REF")
        if ref:
            refs.add(ref)
print("\n".join(sorted(refs)))
EOF
)
  for ref in $refs; do
    git -C "$d/libtowlion.git" tag -f "$ref" HEAD > /dev/null
  done
  say "runner: libtowlion $(git -C "$ROOT" rev-parse --short HEAD) as ${refs//$'\n'/ }"
  : "${TL_E2E_CCACHE_DIR:=/var/cache/towlion-test/ccache-e2e-template}"
  mkdir -p "$TL_E2E_CCACHE_DIR"
}

# Run one job of a workflow of the app's repository on a fresh runner.
# EVENT is push or pull_request; for pull_request, ACTION and PR too.
run_workflow() { # WORKFLOW(deploy|preview) EVENT BRANCH SHA [ACTION]
  local wf=$1 event=$2 branch=$3 sha=$4 action=${5:-} d job home ctx file
  d=$SERVER_DIR/runner/$wf-$event${action:+-$action}-${sha:0:7}
  home=$d/home
  rm -rf "$d"
  mkdir -p "$home"
  chmod 0700 "$home"
  git config --file "$home/.gitconfig" \
    "url.file://$SERVER_DIR/runner/libtowlion.git.insteadOf" https://github.com/towlion/libtowlion.git
  file=$(repo_work)/.github/workflows/$wf.yml
  [[ -f $file ]] || fail "the template has no .github/workflows/$wf.yml"
  # The job to run: the one that talks to the server (the deploy job
  # follows the test job, `needs: test`; the test job is the template's
  # own pytest, run by tests/template.cmake).
  job=$(/usr/bin/python3 -c '
import sys, yaml
jobs = yaml.safe_load(open(sys.argv[1]))["jobs"]
names = [n for n, j in jobs.items() if "towlion --host" in yaml.safe_dump(j)]
print(names[0] if len(names) == 1 else "")' "$file")
  [[ $job ]] || fail "$wf.yml: not exactly one job runs towlion --host"
  ctx=$d/context.json
  jq -n --arg repo "$REPO" --arg name "${REPO#*/}" --arg owner "${REPO%%/*}" \
    --arg sha "$sha" --arg branch "$branch" --arg event "$event" --arg action "$action" \
    --arg pr "${PR:-0}" --arg server_url "file://$SERVER_DIR/github" --arg api "$GITHUB_API" \
    --arg token "$GITHUB_TOKEN" --arg home "$home" --arg ccache "$TL_E2E_CCACHE_DIR" \
    --arg ssh_host "127.0.0.1:$(sshd_forward_port)" --arg ssh_user "$(id -un)" \
    --rawfile ssh_key "$(sshd_dir)/deploy_key" --rawfile known "$(sshd_dir)/known_hosts" \
    --arg domain "$APP.$DOMAIN" --arg preview_domain "$DOMAIN" \
    --rawfile email_env "$SERVER_DIR/email.env" '
    ($event == "pull_request") as $pr_event |
    {github: ({repository: $repo, repository_owner: $owner, sha: $sha,
               ref: (if $pr_event then "refs/pull/\($pr)/merge" else "refs/heads/\($branch)" end),
               ref_name: $branch, head_ref: (if $pr_event then $branch else "" end),
               event_name: $event, server_url: $server_url, api_url: $api,
               token: $token, run_id: "1", run_number: "1", workflow: "e2e",
               actor: "e2e", job: "e2e",
               event: ({repository: {name: $name, full_name: $repo}}
                       + (if $pr_event then {action: $action, number: ($pr | tonumber),
                            pull_request: {number: ($pr | tonumber), merged: false,
                              head: {sha: $sha, ref: $branch, repo: {full_name: $repo}},
                              base: {ref: "main", repo: {full_name: $repo}}}}
                          else {} end))}),
     secrets: ({SERVER_HOST: $ssh_host, SERVER_USER: $ssh_user, SERVER_SSH_KEY: $ssh_key,
                SERVER_KNOWN_HOSTS: $known, APP_DOMAIN: $domain,
                PREVIEW_DOMAIN: $preview_domain, GITHUB_TOKEN: $token}
               + ($email_env | split("\n") | map(select(test("^[A-Z_]+="))
                  | capture("^(?<k>[A-Z_]+)=(?<v>.*)$")) | map({(.k): .v}) | add // {})),
     runner_env: {HOME: $home, USER: "root", LANG: "C.UTF-8",
                  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                  CCACHE_DIR: $ccache, CMAKE_C_COMPILER_LAUNCHER: "ccache",
                  CMAKE_CXX_COMPILER_LAUNCHER: "ccache", DEBIAN_FRONTEND: "noninteractive"}}' > "$ctx"
  say "runner: $wf.yml job $job on $event${action:+ ($action)} at ${sha:0:7}"
  # The fresh machine: /usr/local and /tmp empty; what its steps change in
  # /etc, /usr and the package system (apt-get install upgrades what it
  # names, sudo ldconfig rewrites the cache) lands in overlays under $d,
  # never on this machine.
  # shellcheck disable=SC2016
  unshare --mount --propagation private -- bash -c '
    set -e
    for dir in /etc /usr /var/lib/dpkg /var/lib/apt /var/cache/apt /var/cache/debconf /var/log; do
      layer=$1/overlay/${dir//\//_}
      mkdir -p "$layer/upper" "$layer/work"
      mount -t overlay runner -o "lowerdir=$dir,upperdir=$layer/upper,workdir=$layer/work" "$dir"
    done
    mount -t tmpfs -o mode=0755 runner-usr-local /usr/local
    mount -t tmpfs -o mode=1777 runner-tmp /tmp
    cd "$1"
    exec /usr/bin/python3 "$2" "$3" --job "$4" --context "$1/context.json" --workspace "$1/work"
  ' runner "$d" "$HERE/lib/workflow.py" "$file" "$job" < /dev/null >&2
}
