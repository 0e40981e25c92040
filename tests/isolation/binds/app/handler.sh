#!/bin/sh
# One HTTP request on stdin, its answer on stdout.
read -r method path _proto || exit 0
while read -r line; do
	[ "$(printf '%s' "$line" | tr -d '\r')" = "" ] && break
done
case "$path" in
/health) body='{"status":"ok"}' ;;
*) body="tenant ${TENANT:-?}" ;;
esac
printf 'HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n' \
	$((${#body} + 1)) "$body"
