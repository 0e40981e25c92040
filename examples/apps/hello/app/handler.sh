#!/bin/sh
# One HTTP request on stdin, its answer on stdout.
read -r method path _proto || exit 0
while read -r line; do # skip the request headers
	[ "$(printf '%s' "$line" | tr -d '\r')" = "" ] && break
done
path=${path%%\?*}
case "$method $path" in
"GET /health") status="200 OK" type=application/json body='{"status":"ok"}' ;;
"GET /") status="200 OK" type=text/plain body="hello ${APP_VERSION}" ;;
"GET /api/"*) status="200 OK" type=application/json body="{\"api\":\"${APP_VERSION}\"}" ;;
*) status="404 Not Found" type=text/plain body="not found" ;;
esac
echo "$method $path ${status%% *}" >&2
printf 'HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n' \
	"$status" "$type" $((${#body} + 1)) "$body"
