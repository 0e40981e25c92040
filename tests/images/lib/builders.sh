# shellcheck shell=bash
# How each image is made (sourced by tests/images/build). Everything here is
# a build input: a change rebuilds every image.
#
# Uses from build: IMAGES_HOME, ROOT, TL_HARNESS_S3_PREFIX, work, sock,
# docker_cli, log, die.

# The files from outside the image's directory that go into it.
extra_inputs() { # SVC
	case $1 in
	s3) printf '%s\n' "$ROOT/tests/harness/lib/s3-server.js" \
	                  "$TL_HARNESS_S3_PREFIX/package-lock.json";;
	app-base) printf '%s\n' "$ROOT/tests/harness/lib/common.sh" \
	                        "$ROOT/tests/harness/lib/docker.sh" /bin/busybox;;
	esac
}

# Builders: each makes the image TAG in the dockerd.

# A Debian root file system with the packages in SVC/packages, from the suite
# in SVC/suite, made by mmdebstrap (essential packages only, no apt, no
# documentation: strip-docs) and `docker import`ed; then SVC/Dockerfile adds the
# entrypoint, user and command on top of it.
build_debian() { # SVC TAG
	local svc=$1 tag=$2 dir=$IMAGES_HOME/$1 ctx=$work/$1 suite pkgs
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
	context_extras "$svc" "$ctx"
	docker_cli build -q --build-arg BASE="$rootfs" --label "towlion-local.inputs=${tag##*:}" \
		-t "$tag" "$ctx" > /dev/null || die "$svc: docker build failed"
	# Only the tag goes: the layer stays under the image built on it.
	docker_cli rmi "$rootfs" > /dev/null
	rm -rf "$ctx"
}

# What an image's Dockerfile copies from outside its directory.
context_extras() { # SVC CTX
	case $1 in
	s3)
		cp "$ROOT/tests/harness/lib/s3-server.js" "$2/"
		cp -a "$TL_HARNESS_S3_PREFIX/node_modules" "$TL_HARNESS_S3_PREFIX/package-lock.json" "$2/"
		;;
	esac
}

# The busybox image the tests' apps are built on: the harness's own builder
# (tests/harness/lib/docker.sh), run against this dockerd with our tag.
build_app_base() { # SVC TAG
	(
		# shellcheck source=../harness/lib/common.sh
		source "$ROOT/tests/harness/lib/common.sh"
		HARNESS_DIR=$work/harness TOWLION_DOCKER_HOST=unix://$sock TL_HARNESS_BUSYBOX_IMAGE=$2
		mkdir -p "$HARNESS_DIR/docker/cli"
		_docker_build_busybox
	)
}
