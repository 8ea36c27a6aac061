# shellcheck shell=bash
# Starting local servers on free loopback ports, for scripts/loadtest.sh and
# scripts/broadcast-load.sh (sourced, not run).
#
# The caller sets, before calling serve:
#   dir    a temporary directory: each server logs to $dir/NAME.log
#   pids   an array: serve appends each started server's pid (the caller stops them)
#   watch  a list NAME=PID,...: serve appends NAME=PID (bin/loadtest -pids)
# and reads $url after each call.

# port: prints a free TCP port. Probes on every address (bin/stream listens on :PORT),
# so a port some client socket holds on 127.0.0.x is not chosen.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }

# serve NAME URL_PATH CMD...: starts CMD with PORT set to a free port and waits until
# URL_PATH answers; a port taken in the meantime (the test's own client sockets use the
# same ephemeral range) means another try. Sets $url to the server's base URL.
serve() {
  local name=$1 path=$2
  shift 2
  for _ in 1 2 3 4 5; do
    local p
    p=$(port)
    PORT=$p "$@" >"$dir/$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do
      if curl -s -o /dev/null "http://127.0.0.1:$p$path"; then
        pids+=("$pid")
        watch="$watch,$name=$pid"
        url="http://127.0.0.1:$p"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "$(basename "$0"): $name did not start; its log ($dir/$name.log):" >&2
  cat "$dir/$name.log" >&2
  return 1
}
