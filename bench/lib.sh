# Sourced by the bench scripts (`. "$(dirname "$0")/../lib.sh"`): the
# helpers each of them used to carry a copy of. Prints nothing.
#
#   bench_src           the source tree's root
#   now                 nanoseconds since the epoch
#   since_ms T          milliseconds since `now` said T
#   median [N...]       the median of the numbers given (or of stdin's lines)
#   load1               the one-minute load average
#   free_port           a free TCP port on 127.0.0.1
#   db_url DB           TOWLION_PG_URL with the database DB
#   bench_caddy DIR     start a harness Caddy in DIR and export its
#                       TOWLION_CADDY_ADMIN, TOWLION_HTTP_PORT, TOWLION_HTTPS_PORT
#                       (stop it with tests/harness/stop DIR)
bench_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
now() { date +%s%N; }
since_ms() { echo $(( ($(now) - $1) / 1000000 )); }
median() {
  { if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi; } | sort -n |
    awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'
}
load1() { cut -d' ' -f1 /proc/loadavg; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
db_url() {
  python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$TOWLION_PG_URL" "$1"
}
bench_caddy() {
  eval "$("$bench_src/tests/harness/start" --services caddy --dir "$1" 2>/dev/null |
    grep -E 'CADDY_ADMIN|HTTP_PORT|HTTPS_PORT')"
}
