#!/bin/sh
# The upstream registry image's entrypoint: a configuration file alone
# means `registry serve FILE`; serve, garbage-collect, help and options
# are registry's subcommands; anything else runs as given.
set -e
case ${1:-} in
*.yaml|*.yml) set -- registry serve "$@";;
serve|garbage-collect|help|-*) set -- registry "$@";;
esac
exec "$@"
