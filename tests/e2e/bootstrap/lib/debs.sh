# shellcheck shell=bash
# The towlion packages the test installs on the server:
#  - the directory given with --packages (scripts/package's output), or
#  - when the tree has scripts/package (the Debian packaging), the towlion
#    and libtowlion0 packages it builds (not -dev: a server needs no headers), or
#  - a minimal `towlion` package made here from the build tree: the CLI, its
#    library and the systemd units, depending on the libraries it links.

debs_minimal() { # BUILD_DIR OUT_DIR
  local build=$1 out=$2 stage ver
  stage=$(mktemp -d "$out/.stage.XXXXXX")
  DESTDIR=$stage/inst cmake --install "$build" --prefix /usr > /dev/null
  ver=$("$build/towlion" --version | awk '{print $2}')
  local pkg=$stage/pkg
  mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib" "$pkg/lib/systemd/system"
  cp -a "$stage/inst/usr/bin/towlion" "$pkg/usr/bin/"
  cp -a "$stage"/inst/usr/lib*/libtowlion.so.0* "$pkg/usr/lib/"
  cp "$ROOT"/examples/systemd/towlion-*.{service,timer} "$pkg/lib/systemd/system/"
  cat > "$pkg/DEBIAN/control" <<CONTROL
Package: towlion
Version: $ver-0test
Architecture: $(dpkg --print-architecture)
Maintainer: libtowlion tests <tests@towlion.invalid>
Depends: libjansson4, libcurl4, libpq5, libhiredis0.14, libssh2-1, libyaml-0-2, zlib1g, libzstd1, libsodium23
Description: towlion CLI (test package made by tests/e2e/bootstrap)
CONTROL
  printf '#!/bin/sh\nset -e\nldconfig\n' > "$pkg/DEBIAN/postinst"
  chmod 0755 "$pkg/DEBIAN/postinst"
  dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out/towlion_${ver}-0test_$(dpkg --print-architecture).deb" > /dev/null
  rm -rf "$stage"
}

# Prints the directory of .deb files to install.
debs_prepare() { # GIVEN_DIR BUILD_DIR WORK_DIR
  local given=$1 build=$2 work=$3
  if [[ $given ]]; then
    printf '%s\n' "$given"
    return 0
  fi
  mkdir -p "$work/debs"
  if [[ -x $ROOT/scripts/package ]]; then
    local built
    built=$(DEB_BUILD_OPTIONS=nocheck nice -n 10 "$ROOT/scripts/package" --out "$work/pkgs") || return 1
    grep -E '/(towlion|libtowlion0)_[^/]*\.deb$' <<< "$built" | xargs -r cp -t "$work/debs"
  else
    debs_minimal "$build" "$work/debs"
  fi
  printf '%s\n' "$work/debs"
}
