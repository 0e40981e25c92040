#!/bin/sh
# Serve HTTP on port 8000: busybox nc runs handler.sh for each connection
# (-ll: keep listening). Requests are logged on stderr by the handler.
echo "hello ${APP_VERSION} listening on :8000"
exec nc -ll -p 8000 -e /app/handler.sh
