#!/bin/sh
read -r method path _proto || exit 0
while read -r line; do
	[ "$(printf '%s' "$line" | tr -d '\r')" = "" ] && break
done
echo "health check failed: database unreachable" >&2
printf 'HTTP/1.0 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 25\r\nConnection: close\r\n\r\n{"status":"unavailable"}\n'
