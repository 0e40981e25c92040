#!/bin/sh
# One HTTP request on stdin, its answer on stdout (busybox nc -e).
read -r method path _proto || exit 0
while read -r line; do # skip the request headers
	[ "$(printf '%s' "$line" | tr -d '\r')" = "" ] && break
done
case "$path" in
/health)
	body='{"status":"ok"}'
	printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
		${#body} "$body"
	;;
/endless)
	# JSON that starts well and never ends, as fast as the pipe goes
	printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"status":"ok","pad":"'
	yes aaaaaaaaaaaaaaa | tr -d '\n'
	;;
*)
	printf 'HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n'
	;;
esac
