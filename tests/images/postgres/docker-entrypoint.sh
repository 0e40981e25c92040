#!/bin/bash
# The entrypoint contract of the upstream postgres image, for PostgreSQL 17
# from Debian's packages:
#   POSTGRES_PASSWORD  required on the first start (empty PGDATA)
#   POSTGRES_USER      the superuser (default postgres)
#   POSTGRES_DB        a database made on the first start (default $POSTGRES_USER)
#   PGDATA             the data directory (default /var/lib/postgresql/data)
# The first start runs initdb (UTF-8, SCRAM passwords), listens on every
# address and lets remote clients in with scram-sha-256 only. The server runs
# as postgres (uid 999). SIGTERM and SIGINT both mean a fast shutdown: a
# plain postgres takes SIGTERM as a smart shutdown, which waits for every
# client (an app's connection pool) to leave, and docker would then kill it.
# Any other command (pg_dump, psql, pg_restore...) runs as given.
set -euo pipefail

[[ ${1:-} == -* ]] && set -- postgres "$@"
[[ ${1:-} == postgres ]] || exec "$@"

if (( EUID == 0 )); then
	mkdir -p "$PGDATA" /var/run/postgresql
	find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
	chmod 0700 "$PGDATA"
	chmod 3777 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
	if [[ -z ${POSTGRES_PASSWORD:-} ]]; then
		echo "error: PGDATA ($PGDATA) holds no database and POSTGRES_PASSWORD is not set;" \
		     "set it to the superuser's password" >&2
		exit 1
	fi
	user=${POSTGRES_USER:-postgres}
	db=${POSTGRES_DB:-$user}
	# The password through a pipe, never on a command line.
	initdb -D "$PGDATA" --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
	       --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 > /dev/null
	printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
	printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
	if [[ $db != postgres ]]; then
		# A server on the socket only, to make the database.
		pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
		psql -v ON_ERROR_STOP=1 -X -q --username="$user" --dbname=postgres --set=db="$db" \
		     <<< 'CREATE DATABASE :"db";'
		pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
	fi
	echo "initialised $PGDATA (superuser $user, database $db)" >&2
fi

"$@" &
pid=$!
trap 'kill -INT "$pid" 2> /dev/null || true' TERM INT
status=0
wait "$pid" || status=$?
# wait returns early when a trapped signal arrives: wait again for the exit.
while kill -0 "$pid" 2> /dev/null; do
	status=0
	wait "$pid" || status=$?
done
exit "$status"
