# shellcheck shell=bash
# The fresh server's root file system and the apt repository it installs
# from, both made on the host by mmdebstrap (the only place the Debian
# mirror is reachable) and cached by content under $BOOT_CACHE/<hash>:
#
#   rootfs.tar  Debian 12 with systemd and openssh-server, nothing of the
#               platform; its one apt source is file:/srv/test-apt
#   repo/       every .deb `server bootstrap` installs (and their
#               dependencies), with a Packages index: the "mirror" the
#               test mounts at /srv/test-apt. Its apt configuration is the
#               server's own, not a branch of bootstrap.

: "${BOOT_CACHE:=/var/cache/towlion-test/bootstrap}"
BOOT_MIRROR=${BOOT_MIRROR:-http://deb.debian.org/debian}

# What the server has before bootstrap: a minimal systemd machine with sshd.
ROOTFS_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,iproute2,procps,ca-certificates
# What bootstrap (lib/server/steps.c) and the towlion packages pull in.
REPO_PACKAGES="docker.io nftables unattended-upgrades sudo git curl ca-certificates
  libjansson4 libcurl4 libpq5 libhiredis0.14 libssh2-1 libyaml-0-2 zlib1g libzstd1
  libsodium23 postgresql-client python3 zstd"

rootfs_hash() {
  { printf '%s\n' "$BOOT_MIRROR" "$ROOTFS_PACKAGES" $REPO_PACKAGES; cat "${BASH_SOURCE[0]}"; } |
    sha256sum | cut -c1-16
}

# Prints the cache directory holding rootfs.tar and repo/; builds it once.
rootfs_build() {
  local dir tmp
  dir=$BOOT_CACHE/$(rootfs_hash)
  if [[ -s $dir/rootfs.tar && -s $dir/repo/Packages ]]; then
    printf '%s\n' "$dir"
    return 0
  fi
  mkdir -p "$BOOT_CACHE"
  tmp=$(mktemp -d "$BOOT_CACHE/.build.XXXXXX")
  mkdir -p "$tmp/repo"
  # The repository first: the packages as apt would fetch them for this
  # very root file system, then the root file system without the mirror.
  # shellcheck disable=SC2086
  nice -n 10 mmdebstrap --variant=minbase --include="$ROOTFS_PACKAGES" \
    --customize-hook='chroot "$1" apt-get install --download-only -y -q --no-install-recommends '"$(echo $REPO_PACKAGES)" \
    --customize-hook='sync-out /var/cache/apt/archives '"$tmp/repo" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
    --customize-hook='echo "deb [trusted=yes] file:/srv/test-apt ./" > "$1/etc/apt/sources.list"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
    --customize-hook='echo server > "$1/etc/hostname"' \
    bookworm "$tmp/rootfs.tar" "$BOOT_MIRROR" >&2 || { rm -rf "$tmp"; return 1; }
  rm -f "$tmp/repo/lock"
  rm -rf "$tmp/repo/partial"
  (cd "$tmp/repo" && dpkg-scanpackages -m . > Packages 2> /dev/null) || { rm -rf "$tmp"; return 1; }
  [[ -s $tmp/repo/Packages ]] || { echo "bootstrap: the test repository is empty" >&2; rm -rf "$tmp"; return 1; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
  printf '%s\n' "$dir"
}
