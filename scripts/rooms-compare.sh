#!/usr/bin/env bash
# Rooms under load, side by side in one session (issue 27): bin/stream's rooms
# WebSocket and Centrifugo v6.9.1's WebSocket transport (JSON protocol) with presence,
# join/leave and history on the namespace, each on its own private redis-server on
# loopback, driven by the same `bin/loadtest -mode rooms`. docs/PERFORMANCE.md shows
# the results; not part of make test.
#
# Usage: make build && [CONNS=10000] [ROOM_SIZE=50] [RATE=100] [STATE_EVERY=5s] \
#          [DURATION=30s] [OUT=artifacts/rooms] scripts/rooms-compare.sh
# ONLY=ours measures bin/stream alone (memory per socket needs no neighbour);
# ROOMS_ADMIN_ADDR=127.0.0.1:PORT serves bin/stream's pprof there while it runs.
#
# Centrifugo is installed from the Go module proxy into ROOMS_CENTRIFUGO_DIR (default
# ~/.cache/vividly/centrifugo), outside the tree. (Not CENTRIFUGO_…: Centrifugo reads
# that prefix as its own configuration.) Every target is 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${CONNS:-10000}
size=${ROOM_SIZE:-50}
rate=${RATE:-100}
every=${STATE_EVERY:-5s}
duration=${DURATION:-30s}
out=${OUT:-artifacts/rooms}
version=v6.9.1
cdir=${ROOMS_CENTRIFUGO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vividly/centrifugo}
secret=loadtest-secret-loadtest-secret-0123

for b in bin/loadtest bin/stream; do
  [ -x "$b" ] || { echo "rooms-compare.sh: $b missing; run make build first" >&2; exit 1; }
done
if [ ! -x "$cdir/centrifugo" ]; then
  echo "rooms-compare.sh: installing Centrifugo $version into $cdir" >&2
  mkdir -p "$cdir"
  (cd "$cdir" && GOWORK=off GOBIN="$cdir" timeout 900 go install "github.com/centrifugal/centrifugo/v6@$version")
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
. scripts/lib/serve.sh
load() { ./bin/loadtest -mode rooms -secret "$secret" -conns "$conns" -room-size "$size" -rate "$rate" \
  -state-every "$every" -duration "$duration" -connect-rate 1000 -idle 3s -settle 3s "$@"; }

redis_for() { # redis_for NAME: a private redis-server; sets rport and rpid
  rport=$(port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/$1-redis.log" &
  rpid=$!
  pids+=("$rpid")
  for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
}

date -u +'rooms-compare.sh: %Y-%m-%dT%H:%MZ' | tee "$out/date.txt"
echo "== ours" >&2
redis_for ours
watch="redis=$rpid"
JWT_SECRET=$secret REDIS_ADDR=127.0.0.1:$rport LOG_LEVEL=warn METRICS_ADDR=off ADMIN_ADDR=${ROOMS_ADMIN_ADDR:-} \
  RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_BURST=1000000 MAX_CONNS=100000 MAX_CONNS_PER_USER=1000 \
  RATE_LIMIT_PER_USER=1000000 RATE_LIMIT_USER_BURST=1000000 serve stream /readyz ./bin/stream
load -system ours -stream "$url" -pids "$watch" -json "$out/ours.json" | tee "$out/ours.txt"
kill "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
pids=()
if [ "${ONLY:-}" = ours ]; then exit 0; fi

echo "== centrifugo $version" >&2
redis_for centrifugo
watch="redis=$rpid"
cp=$(port)
# Presence, join/leave and history (the last 500 for 24 h, as ours keeps) on the
# room namespace; clients subscribe and publish themselves, as ours send frames.
cat >"$dir/centrifugo.json" <<EOF
{
  "http_server": {"address": "127.0.0.1", "port": $cp},
  "log": {"level": "warn"},
  "health": {"enabled": true},
  "client": {"token": {"hmac_secret_key": "$secret"}, "allowed_origins": ["*"]},
  "engine": {"type": "redis", "redis": {"address": ["redis://127.0.0.1:$rport"]}},
  "channel": {"namespaces": [{"name": "room", "presence": true, "join_leave": true, "force_push_join_leave": true,
    "history_size": 500, "history_ttl": "24h", "force_recovery": true,
    "allow_subscribe_for_client": true, "allow_publish_for_subscriber": true}]}
}
EOF
"$cdir/centrifugo" -c "$dir/centrifugo.json" >"$dir/centrifugo.log" 2>&1 &
cpid=$!
pids+=("$cpid")
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$cp/health" && break
  kill -0 "$cpid" 2>/dev/null || { cat "$dir/centrifugo.log" >&2; exit 1; }
  sleep 0.1
done
load -system centrifugo -stream "http://127.0.0.1:$cp" -pids "$watch,centrifugo=$cpid" \
  -json "$out/centrifugo.json" | tee "$out/centrifugo.txt"
