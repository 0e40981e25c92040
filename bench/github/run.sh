#!/usr/bin/env bash
# Keep ONE marked comment per PR up to date, on PRs that already have K
# other comments (K = 0, 250, 1000: 1, 3 and 11 pages of 100), R times each:
#   library   tl_github_comment_upsert on one client (bench_upsert.c)
#   towlion   `towlion github comment REPO --pr N --key K --body B`, one
#             process per update, as a workflow step would run it
#   baseline  what a workflow does by hand: curl pages through the comments
#             following the Link header, jq finds the marker, curl PATCHes
#             or POSTs
# against a private GitHub stand-in (tests/harness/github-standin) on
# loopback. Prints the median milliseconds per update (and the mean).
#
# usage: bench/github/run.sh [BUILD_DIR] [R]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
r=${2:-21}
[[ -x $build/towlion ]] || { echo "no $build/towlion: build first" >&2; exit 2; }
for t in curl jq cc; do command -v $t >/dev/null || { echo "$t missing" >&2; exit 2; }; done

work=$(mktemp -d /tmp/towlion-bench-gh.XXXXXX)
trap '"$src/tests/harness/github-standin/stop" "$work/standin" 2>/dev/null; rm -rf "$work"' EXIT
eval "$("$src/tests/harness/github-standin/start" "$work/standin" 2>/dev/null)"
admin() { curl -fsS -X POST -d "$2" "$TL_TEST_GITHUB_STANDIN/_standin/$1" >/dev/null; }

cc -O2 -o "$work/bench_upsert" "$here/bench_upsert.c" -I"$src/include" -I"$build/include" \
   -L"$build" -ltowlion -Wl,-rpath,"$build"

. "$here/../lib.sh"
stats() { sort -n | awk '{ a[NR] = $1; s += $1 } END { printf "%.2f %.2f\n", a[int((NR + 1) / 2)], s / NR }'; }

upsert_curl() {  # REPO PR KEY TEXT
  local marker="<!-- towlion:$3 -->" url="$TOWLION_GITHUB_API/repos/$1/issues/$2/comments?per_page=100" id='' body
  local -a h=(-H "Authorization: Bearer $TOWLION_GITHUB_TOKEN" -H "Accept: application/vnd.github+json"
              -H "X-GitHub-Api-Version: 2022-11-28")
  while [[ -n $url && -z $id ]]; do
    curl -fsS -D "$work/h" "${h[@]}" "$url" > "$work/b"
    id=$(jq -r --arg m "$marker" '[.[] | select(.body | startswith($m))][0].id // empty' "$work/b")
    url=$(tr -d '\r' < "$work/h" | grep -i '^link:' | grep -o '<[^>]*>; rel="next"' | sed 's/^<//; s/>.*//' || true)
  done
  body=$(jq -n --arg b "$marker"$'\n'"$4" '{body: $b}')
  if [[ -n $id ]]; then
    curl -fsS -X PATCH "${h[@]}" -d "$body" "$TOWLION_GITHUB_API/repos/$1/issues/comments/$id" >/dev/null
  else
    curl -fsS -X POST "${h[@]}" -d "$body" "$TOWLION_GITHUB_API/repos/$1/issues/$2/comments" >/dev/null
  fi
}

printf '| other comments | library, ms | `towlion github comment`, ms | curl + jq, ms |\n|---|---|---|---|\n'
pr=0
for k in 0 250 1000; do
  pr=$((pr + 1))
  admin prs "{\"repo\":\"bench/app\",\"number\":$pr}"
  for ((i = 0; i < k; i++)); do
    admin comments "{\"repo\":\"bench/app\",\"number\":$pr,\"body\":\"comment $i\",\"user\":\"dev\"}"
  done
  lib=$("$work/bench_upsert" bench/app "$pr" "$r")
  cli=$(for ((i = 0; i < r; i++)); do
    t0=$(now); "$build/towlion" -q github comment bench/app --pr "$pr" --key bench:cli --body "cli run $i" >/dev/null
    echo $(( ($(now) - t0) / 1000 )); done | awk '{ print $1 / 1000 }' | stats)
  base=$(for ((i = 0; i < r; i++)); do
    t0=$(now); upsert_curl bench/app "$pr" bench:curl "curl run $i"
    echo $(( ($(now) - t0) / 1000 )); done | awk '{ print $1 / 1000 }' | stats)
  printf '| %d | %s | %s | %s |\n' "$k" "${lib/ / (mean }"")" "${cli/ / (mean }"")" "${base/ / (mean }"")"
done
# All three kept exactly one comment each per PR:
n=$(curl -fsS "$TL_TEST_GITHUB_STANDIN/_standin/state" | jq '[."bench/app".comments[] | select(.body | startswith("<!-- towlion:bench:"))] | length')
echo
echo "marked comments in the end: $n (expected 9: one per method and PR)"
