#!/usr/bin/env bash
# Side by side, in one session, with the same load tool and load: this project
# (redis-server + bin/notify + bin/stream, through scripts/loadtest.sh) and Centrifugo
# v6.9.1 with Redis and history on (store + publish, like ours), each on its own private
# redis-server on loopback. docs/PERFORMANCE.md shows the results; not part of make test.
#
# Usage: make build && [RUNS=n] [CONNS=n] [RATE=n] [DURATION=30s] [INFLIGHT=8] \
#          [OUT=artifacts/compare] scripts/compare.sh
#
# Centrifugo is installed from the Go module proxy into a cache folder outside the
# repository (COMPARE_CACHE, default ~/.cache/vividly/centrifugo-v6.9.1) — never
# into the tree. (Not CENTRIFUGO_…: Centrifugo reads that prefix as its own
# configuration.) Every target is 127.0.0.1; every wait below is bounded. NOTIFY and
# STREAM pass through to scripts/loadtest.sh to pin the builds under test.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-1}
conns=${CONNS:-10000}
rate=${RATE:-1000}
duration=${DURATION:-30s}
inflight=${INFLIGHT:-8}
out=${OUT:-artifacts/compare}
version=v6.9.1
cache=${COMPARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vividly/centrifugo-$version}
secret=loadtest-secret-loadtest-secret-0123
api_key=compare-api-key-$RANDOM$RANDOM

for b in bin/loadtest bin/notify bin/stream; do
  [ -x "$b" ] || { echo "compare.sh: $b missing; run make build first" >&2; exit 1; }
done
if [ ! -x "$cache/centrifugo" ]; then
  echo "compare.sh: installing Centrifugo $version into $cache" >&2
  mkdir -p "$cache"
  (cd "$cache" && GOWORK=off GOBIN="$cache" timeout 900 go install "github.com/centrifugal/centrifugo/v6@$version")
fi
mkdir -p "$out"

dir=$(mktemp -d)
pids=()
cleanup() {
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  cp "$dir"/*.log "$out"/ 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }

# centrifugo_run N: a fresh redis-server and Centrifugo, the load, then both stopped.
centrifugo_run() {
  local n=$1 rp cp rpid cpid
  rp=$(port)
  redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --logfile "$dir/centrifugo-redis-$n.log" &
  rpid=$!
  pids+=("$rpid")
  cp=$(port)
  # History like ours: the log keeps LOG_MAX_ENTRIES (1000) notifications for
  # LOG_RETENTION (720h) per user; publishing stores and publishes in one Lua script.
  # Presence, join/leave and recovery stay off, as ours has none of them on this path.
  cat >"$dir/centrifugo.json" <<EOF
{
  "http_server": {"address": "127.0.0.1", "port": $cp},
  "log": {"level": "warn"},
  "health": {"enabled": true},
  "client": {"token": {"hmac_secret_key": "$secret"}},
  "engine": {"type": "redis", "redis": {"address": ["redis://127.0.0.1:$rp"]}},
  "http_api": {"key": "$api_key"},
  "uni_sse": {"enabled": true},
  "channel": {"namespaces": [{"name": "notifications", "history_size": 1000, "history_ttl": "720h"}]}
}
EOF
  "$cache/centrifugo" -c "$dir/centrifugo.json" >"$dir/centrifugo-$n.log" 2>&1 &
  cpid=$!
  pids+=("$cpid")
  local up=
  for _ in $(seq 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$cp/health"; then up=1; break; fi
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$up" ]; then
    echo "compare.sh: centrifugo did not start" >&2
    cat "$dir/centrifugo-$n.log" >&2
    return 1
  fi
  ./bin/loadtest -system centrifugo -stream "http://127.0.0.1:$cp" -function "http://127.0.0.1:$cp" \
    -secret "$secret" -api-key "$api_key" -pids "redis=$rpid,centrifugo=$cpid" \
    -conns "$conns" -rate "$rate" -duration "$duration" -inflight "$inflight" \
    -json "$out/centrifugo-$n.json" | tee "$out/centrifugo-$n.txt" ||
    echo "compare.sh: the centrifugo run $n reported a failure (see above)" >&2
  kill "$cpid" "$rpid"
  wait "$cpid" "$rpid" 2>/dev/null || true
}

date -u +'compare.sh: %Y-%m-%dT%H:%MZ' | tee "$out/date.txt"
for n in $(seq "$runs"); do
  echo "== run $n: ours" >&2
  ./scripts/loadtest.sh -conns "$conns" -rate "$rate" -duration "$duration" -inflight "$inflight" \
    -json "$out/ours-$n.json" | tee "$out/ours-$n.txt" ||
    echo "compare.sh: our run $n reported a failure (see above)" >&2
  echo "== run $n: centrifugo $version" >&2
  centrifugo_run "$n"
done

# One line per run and system: the figures docs/PERFORMANCE.md tabulates.
python3 - "$out" "$runs" <<'EOF'
import json, sys
out, runs = sys.argv[1], int(sys.argv[2])
print(f"{'run':>3} {'system':<10} {'p50':>7} {'p99':>7} {'p99.9':>7} {'sched p99':>9} {'KiB/conn':>8} "
      f"{'CPU s/1k':>8} {'waited s':>8} {'others':>6} {'lost':>5} {'dup':>4}")
for n in range(1, runs + 1):
    for system in ("ours", "centrifugo"):
        try:
            s = json.load(open(f"{out}/{system}-{n}.json"))
        except OSError:
            print(f"{n:>3} {system:<10} (no result)")
            continue
        kib = sum(v.get("rss_per_conn_connected_kib", 0) for v in s["servers"])
        waited = sum(v.get("runqueue_wait_seconds_publishing", 0) for v in s["servers"])
        print(f"{n:>3} {system:<10} {s['latency']['p50_ms']:>7.2f} {s['latency']['p99_ms']:>7.2f} "
              f"{s['latency']['p99_9_ms']:>7.2f} {s['latency_from_schedule']['p99_ms']:>9.2f} {kib:>8.1f} "
              f"{s['cpu_seconds_per_1000_delivered']:>8.3f} {waited:>8.2f} {s.get('other_busy_cores', 0):>6.2f} "
              f"{s['lost']:>5} {s['duplicated']:>4}")
print("latencies in ms; waited: the servers' time runnable but waiting for a core while publishing;")
print("others: average cores busy with work that is neither the servers nor the load tool")
EOF
