#!/bin/sh
# Listens, but /health answers 500: a release that never becomes healthy.
echo "broken-health listening on :8000"
exec nc -ll -p 8000 -e /app/handler.sh
