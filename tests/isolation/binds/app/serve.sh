#!/bin/sh
# Serve HTTP on 8000: busybox nc runs handler.sh for each connection.
exec nc -ll -p 8000 -e /src/handler.sh
