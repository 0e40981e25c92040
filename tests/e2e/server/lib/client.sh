# shellcheck shell=bash
# HTTP clients "on the server": curl through the containerised Caddy, by
# name (--resolve), trusting only Caddy's own local CA (tls internal).
#
# Needs: SERVER_DIR, on_server, CADDY_ROOT_CERT (set once Caddy made it).

# One GET through Caddy over HTTPS; prints "STATUS BODY" (BODY on one line).
https_get() { # HOST PATH
  local out status body
  out=$(on_server curl -sS --max-time 5 --cacert "$CADDY_ROOT_CERT" \
    --resolve "$1:443:127.0.0.1" -w '\n%{http_code}' "https://$1$2" 2>&1)
  status=${out##*$'\n'} body=${out%$'\n'*}
  [[ $out == *$'\n'* ]] || { status=000 body=$out; }
  printf '%s %s\n' "$status" "$(tr -s '\r\n' '  ' <<< "$body")"
}

# Wait until HOST/PATH answers 200 with EXPECTED in the body (bounded).
wait_serves() { # HOST PATH EXPECTED [SECONDS]
  local deadline=$((SECONDS + ${4:-60})) out
  while :; do
    out=$(https_get "$1" "$2")
    [[ $out == "200 "*"$3"* ]] && return 0
    if ((SECONDS > deadline)); then
      echo "e2e: https://$1$2 does not serve \"$3\" after ${4:-60} s; last answer: $out" >&2
      return 1
    fi
    sleep 0.5
  done
}

# The client loop: GET / over and over until told to stop, a new
# connection each time, one line per request in its log ("200 hello
# 1.0.0 ", or the failure). A request that is not a 200 with "hello" in it
# is a failed request. One shell in the namespace runs the whole loop.
# PATHS (space-separated) are asked in turn instead of /, and OK (an
# extended regex on the log line) says what a good answer is instead.
# Each line keeps the first 200 characters of the body: the workers share
# one pipe back, and a line over PIPE_BUF (4 KiB, the template's page) is
# written in pieces another worker's line can land between, which read as
# a failed request that never was.
CLIENT_LOOP_OK='^200 hello '
client_loop_start() { # HOST [PATHS [OK]]
  local log=$SERVER_DIR/client.log stop=$SERVER_DIR/client.stop
  : > "$log"
  rm -f "$stop"
  CLIENT_LOOP_OK=${3:-'^200 hello '}
  # Two clients at once: the hello app answers in about a second on a
  # loaded machine, and one client alone would sample the switch too
  # thinly (TL_E2E_CLIENTS overrides).
  on_server bash -c '
    read -ra paths <<< "$5"
    for ((worker = 0; worker < $4; worker++)); do
      n=$worker
      while [[ ! -e $3 ]]; do
        path=${paths[n++ % ${#paths[@]}]}
        out=$(curl -sS --max-time 20 --cacert "$1" --resolve "$2:443:127.0.0.1" \
          -w "\n%{http_code}" "https://$2$path" 2>&1)
        body=$(tr -s "\r\n" "  " <<< "${out%$'"'"'\n'"'"'*}")
        printf "%s %s\n" "${out##*$'"'"'\n'"'"'}" "${body:0:200}"
      done &
    done
    wait' client-loop "$CADDY_ROOT_CERT" "$1" "$stop" "${TL_E2E_CLIENTS:-2}" "${2:-/}" >> "$log" 2>&1 &
  CLIENT_LOOP_PID=$!
}

client_loop_stop() { # -> prints "TOTAL FAILED"
  : > "$SERVER_DIR/client.stop"
  wait "$CLIENT_LOOP_PID" 2> /dev/null || true
  CLIENT_LOOP_PID=
  local total failed
  total=$(wc -l < "$SERVER_DIR/client.log")
  failed=$(grep -Ecv "$CLIENT_LOOP_OK" "$SERVER_DIR/client.log" || true)
  echo "$total $failed"
}
