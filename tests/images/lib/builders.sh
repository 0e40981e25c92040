# shellcheck shell=bash
# How each image is made (sourced by tests/images/build). Everything here is
# a build input: a change rebuilds every image.
#
# Uses from build: IMAGES_HOME, ROOT, work, sock, docker_cli, log, die.

# SVC/extras: what an image takes from outside its directory, one
# "DEST SOURCE" a line (SOURCE relative to the repository or absolute, a file
# or a directory; DEST relative to the build context). Prints "DEST SOURCE"
# with SOURCE made absolute; $TL_HARNESS_S3_PREFIX in SOURCE is expanded.
extras() { # SVC
	local f=$IMAGES_HOME/$1/extras dest src
	[[ -f $f ]] || return 0
	sed 's/#.*//' "$f" | while read -r dest src; do
		[[ -n $dest ]] || continue
		src=${src//'$TL_HARNESS_S3_PREFIX'/$TL_HARNESS_S3_PREFIX}
		[[ $src == /* ]] || src=$ROOT/$src
		printf '%s %s\n' "$dest" "$src"
	done
}

# Builders: each makes the image TAG in the dockerd.

# A Debian root file system with the packages in SVC/packages, from the suite
# in SVC/suite, made by mmdebstrap (essential packages only, no apt, no
# documentation: strip-docs) and `docker import`ed; then SVC/Dockerfile adds
# the entrypoint, user and command on top of it, with SVC/extras in its
# context.
build_debian() { # SVC TAG
	local svc=$1 tag=$2 dir=$IMAGES_HOME/$1 ctx=$work/$1 suite pkgs dest src
	local rootfs=towlion-local/$svc-rootfs:${tag##*:}
	suite=$(< "$dir/suite")
	pkgs=$(sed 's/#.*//' "$dir/packages" | xargs | tr ' ' ,)
	local args=(--quiet --variant=essential --include="$pkgs"
	            --aptopt='APT::Install-Recommends "false"' --dpkgopt=force-unsafe-io
	            --customize-hook="$IMAGES_HOME/lib/strip-docs")
	[[ -x $dir/essential-hook ]] && args+=(--essential-hook="$dir/essential-hook")
	[[ -x $dir/customize-hook ]] && args+=(--customize-hook="$dir/customize-hook")
	log "$svc: mmdebstrap $suite with $pkgs"
	# Debian's own tools only: a python3 earlier on PATH (pyenv) would run
	# mmdebstrap's helpers through its much slower shims.
	PATH=/usr/sbin:/usr/bin:/sbin:/bin mmdebstrap "${args[@]}" "$suite" - 2> "$work/$svc.mmdebstrap.log" |
		docker_cli import - "$rootfs" > /dev/null ||
		{ tail -n 30 "$work/$svc.mmdebstrap.log" >&2; die "$svc: mmdebstrap or docker import failed"; }

	mkdir -p "$ctx"
	cp -a "$dir/." "$ctx/"
	while read -r dest src; do
		mkdir -p "$(dirname "$ctx/$dest")"
		cp -a "$src" "$ctx/$dest"
	done < <(extras "$svc")
	# SVC/prepare CTX, when present, adds to the context what is made on the
	# host from the inputs (the npm cache of the app template's node image).
	if [[ -x $dir/prepare ]]; then
		"$dir/prepare" "$ctx" 2> "$work/$svc.prepare.log" ||
			{ tail -n 30 "$work/$svc.prepare.log" >&2; die "$svc: $dir/prepare failed"; }
	fi
	docker_cli build -q --build-arg BASE="$rootfs" --label "towlion-local.inputs=${tag##*:}" \
		-t "$tag" "$ctx" > /dev/null || die "$svc: docker build failed"
	# Only the tag goes: the layer stays under the image built on it.
	docker_cli rmi "$rootfs" > /dev/null
	rm -rf "$ctx"
}

# The busybox image the tests' apps are built on (app-base/extras names the
# inputs): the harness's own builder, run against this dockerd with our tag.
build_app_base() { # SVC TAG
	(
		# shellcheck source=../../harness/lib/common.sh
		source "$ROOT/tests/harness/lib/common.sh"
		HARNESS_DIR=$work/harness TOWLION_DOCKER_HOST=unix://$sock TL_HARNESS_BUSYBOX_IMAGE=$2
		mkdir -p "$HARNESS_DIR/docker/cli"
		_docker_build_busybox
	)
}
