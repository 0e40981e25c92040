#!/usr/bin/env bash
# SSH: what a deploy script pays per remote command and per upload.
#   commands: N x `true` on the server
#     towlion --host   `towlion --host ... --version`, one process and one
#                      connection per command (how GitHub Actions calls it)
#     ssh              `ssh host true`, one connection per command
#     library          tl_ssh_exec on one session
#     ssh (mux)        OpenSSH with a ControlMaster: one connection shared
#   upload: a file of SIZE_MIB MiB
#     library          tl_ssh_upload (SFTP, temp name, mode, rename)
#     scp / sftp       OpenSSH's tools (scp uses SFTP since OpenSSH 9)
# Needs the harness's sshd: `. /tmp/towlion-dev/env` (TL_TEST_SSH_*).
#
# usage: bench/ssh/run.sh [BUILD_DIR] [N] [SIZE_MIB]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
n=${2:-20}
mib=${3:-64}
: "${TL_TEST_SSH_HOST:?. /tmp/towlion-dev/env first}"
[[ -x $build/towlion ]] || { echo "no $build/towlion: build first" >&2; exit 2; }

work=$(mktemp -d /tmp/towlion-bench-ssh.XXXXXX)
ctl="$work/ctl"
cleanup() {
  ssh "${sshopts[@]}" -O exit -o ControlPath="$ctl" "$target" 2>/dev/null || true
  ssh "${sshopts[@]}" "$target" rm -rf "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
h=$TL_TEST_SSH_HOST p=$TL_TEST_SSH_PORT u=$TL_TEST_SSH_USER
target="$u@$h"
sshopts=(-q -p "$p" -i "$TL_TEST_SSH_KEY" -o BatchMode=yes
         -o UserKnownHostsFile="$TL_TEST_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes)

cc -O2 -o "$work/bench_ssh" "$here/bench_ssh.c" -I"$src/include" -I"$build/include" \
   -L"$build" -ltowlion -Wl,-rpath,"$build"
head -c $((mib * 1024 * 1024)) /dev/urandom > "$work/payload"

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }'; }

t0=$(now)
for ((i = 0; i < n; i++)); do
  TOWLION_REMOTE_TOWLION=$build/towlion "$build/towlion" --host "$u@$h:$p" \
    --ssh-key "$TL_TEST_SSH_KEY" --known-hosts "$TL_TEST_SSH_KNOWN_HOSTS" --version >/dev/null
done
t1=$(now)
echo "towlion --host --version, ms/command: $(ms "$t0" "$t1" "$n")"

t0=$(now)
for ((i = 0; i < n; i++)); do ssh "${sshopts[@]}" "$target" true; done
t1=$(now)
echo "ssh host true, ms/command: $(ms "$t0" "$t1" "$n")"

ssh "${sshopts[@]}" -o ControlMaster=yes -o ControlPath="$ctl" -o ControlPersist=60 -fN "$target"
t0=$(now)
for ((i = 0; i < n; i++)); do ssh "${sshopts[@]}" -o ControlPath="$ctl" "$target" true; done
t1=$(now)
echo "ssh (ControlMaster) true, ms/command: $(ms "$t0" "$t1" "$n")"

"$work/bench_ssh" "$n" "$work/payload" "$work/up-lib" | sed 's/^/library /'

t0=$(now)
scp -q -P "$p" -i "$TL_TEST_SSH_KEY" -o BatchMode=yes \
    -o UserKnownHostsFile="$TL_TEST_SSH_KNOWN_HOSTS" "$work/payload" "$target:$work/up-scp"
t1=$(now)
echo "scp ${mib} MiB, ms: $(ms "$t0" "$t1" 1)"

t0=$(now)
echo "put $work/payload $work/up-sftp" | sftp -q -b - -P "$p" -i "$TL_TEST_SSH_KEY" \
    -o BatchMode=yes -o UserKnownHostsFile="$TL_TEST_SSH_KNOWN_HOSTS" "$target" >/dev/null
t1=$(now)
echo "sftp put ${mib} MiB, ms: $(ms "$t0" "$t1" 1)"

want=$(sha256sum < "$work/payload" | cut -c1-64)
for f in up-lib up-scp up-sftp; do
  got=$(ssh "${sshopts[@]}" "$target" sha256sum "$work/$f" | cut -c1-64)
  [[ $got == "$want" ]] || { echo "checksum mismatch for $f" >&2; exit 1; }
done
echo "checksums: all three uploads match"
