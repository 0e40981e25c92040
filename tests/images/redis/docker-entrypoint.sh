#!/bin/sh
# The upstream redis image's entrypoint: options or a .conf file alone mean
# redis-server; started as root, the server gets /data (what is not its
# own yet) and runs as redis (uid 999) with a umask of 0077.
set -eu

case ${1:-} in
-*|*.conf) set -- redis-server "$@";;
esac

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

[ "$(umask)" = 0022 ] && umask 0077
exec "$@"
