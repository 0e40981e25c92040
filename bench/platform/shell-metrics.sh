#!/usr/bin/env bash
# What an operator would write instead of `towlion metrics`: the same
# series from the docker and psql CLIs, df and /proc/meminfo (a textfile
# collector script). Used only by run.sh as the comparison.
set -euo pipefail
apps_dir=$1   # the registry: one directory per app
echo "# TYPE towlion_app_up gauge"
for a in "$apps_dir"/*/; do
  app=$(basename "$a")
  ids=$(docker ps -aq --filter "label=towlion.app=$app")
  up=0; healthy=1; restarts=0
  for id in $ids; do
    read -r running health rc < <(docker inspect -f '{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}}' "$id")
    restarts=$((restarts + rc))
    [[ $running == true ]] && up=1
    [[ $health == healthy || $health == none ]] || healthy=0
  done
  (( up )) || healthy=0
  echo "towlion_app_up{app=\"$app\"} $up"
  echo "towlion_app_healthy{app=\"$app\"} $healthy"
  echo "towlion_app_restarts_total{app=\"$app\"} $restarts"
done
echo "# TYPE towlion_database_size_bytes gauge"
psql -At "$TOWLION_PG_URL" -c "select datname, pg_database_size(datname) from pg_database where datname like '%\_db'" |
  while IFS='|' read -r db size; do echo "towlion_database_size_bytes{database=\"$db\"} $size"; done
df -B1 --output=used,size "$TOWLION_DATA_DIR" | tail -1 | {
  read -r used size
  echo "towlion_disk_used_bytes $used"; echo "towlion_disk_total_bytes $size"; }
awk '/MemTotal/ {t=$2} /MemAvailable/ {a=$2} END {print "towlion_memory_used_ratio", (t-a)/t}' /proc/meminfo
