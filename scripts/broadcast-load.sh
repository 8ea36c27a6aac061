#!/usr/bin/env bash
# Measures the broadcast fan-out time (issue 15): a private redis-server, STREAMS
# bin/stream processes and one bin/notify (Notify, for the per-user comparison) on free
# loopback ports, then bin/loadtest with -broadcast: every connection opens, a per-user
# phase runs, then BROADCASTS notifications to everyone are published one at a time and
# the tool reports, per broadcast, the time until the first, p50, p99 and the last
# connection has it, and any connection that missed one or got it twice.
#
# Usage: [STREAMS=n] [BROADCASTS=n] [VIA=redis|function] [NOTIFY=path] [STREAM=path] \
#          [ADMIN=1] [LOG_LEVEL=warn] scripts/broadcast-load.sh [bin/loadtest flags]
# (make build first). VIA=function (the default) starts a second bin/notify with
# FUNCTION_TARGET=Publish and posts each broadcast to it as a CloudEvent with
# "audience":{"all":true}, as the notifications topic's trigger does. VIA=redis
# publishes each broadcast straight into Redis through shared/redisbroker (the write the
# Publish function makes: one entry in the broadcast log and one PUBLISH), without the
# function's HTTP leg. ADMIN=1: the first stream serves pprof on a free loopback
# port (printed). Flags given here override the defaults below (the last
# occurrence of a flag wins). Every process started here is stopped on exit; their logs
# are kept in artifacts/broadcast-load/.
#
#   # 10,000 connections on one stream process, 10 broadcasts
#   BROADCASTS=10 scripts/broadcast-load.sh -conns 10000 -json artifacts/bcast-10k.json
#   # 50,000 over four stream processes (12,500 each: under the 20,000 open files);
#   # a fan-out must end within half the interval for the CPU figures
#   STREAMS=4 BROADCASTS=10 scripts/broadcast-load.sh -conns 50000 -sources 32 \
#     -broadcast-interval 4s -json artifacts/bcast-50k.json
#   # 100,000 over seven
#   STREAMS=7 BROADCASTS=10 scripts/broadcast-load.sh -conns 100000 -sources 64 \
#     -broadcast-interval 6s -json artifacts/bcast-100k.json
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${STREAMS:-1}
via=${VIA:-function}
case "$via" in redis | function) ;; *) echo "broadcast-load.sh: VIA must be redis or function" >&2; exit 2 ;; esac
dir=$(mktemp -d)
pids=()
cleanup() {
  # Only the processes this script started, by pid: the servers first, Redis (pids[0])
  # last, so the streams do not log a lost Redis while they shut down.
  if [ ${#pids[@]} -gt 1 ]; then
    kill "${pids[@]:1}" 2>/dev/null || true
    wait "${pids[@]:1}" 2>/dev/null || true
  fi
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[0]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  mkdir -p artifacts/broadcast-load && cp "$dir"/*.log artifacts/broadcast-load/ 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" # every connection is a file, on both sides
# port and serve (free loopback ports, servers waited for).
. scripts/lib/serve.sh

rp=$(port)
redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" &
pids+=($!)
watch="redis=$!"
for _ in $(seq 100); do
  redis-cli -p "$rp" ping >/dev/null 2>&1 && break
  sleep 0.1
done
export JWT_SECRET=loadtest-secret-loadtest-secret-0123 REDIS_ADDR=127.0.0.1:$rp LOG_LEVEL=${LOG_LEVEL:-warn}
# All clients come from loopback: lift the per-IP and per-user limits; let a process hold
# what one file limit allows. No stream serves metrics (several run here).
export RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_BURST=1000000 MAX_CONNS=100000 MAX_CONNS_PER_USER=1000
export RATE_LIMIT_PER_USER=1000000 RATE_LIMIT_USER_BURST=1000000 METRICS_ADDR=off

serve notify / env GOMAXPROCS="${FUNCTION_GOMAXPROCS:-1}" FUNCTION_TARGET=Notify "${NOTIFY:-./bin/notify}"
fn=$url/
extra=()
if [ "$via" = function ]; then
  serve publish / env GOMAXPROCS="${FUNCTION_GOMAXPROCS:-1}" FUNCTION_TARGET=Publish "${NOTIFY:-./bin/notify}"
  extra=(-broadcast-function "$url/")
fi
urls=()
for i in $(seq "$streams"); do
  admin=
  if [ "${ADMIN:-}" = 1 ] && [ "$i" = 1 ]; then
    admin=127.0.0.1:$(port)
    echo "broadcast-load.sh: stream1 serves pprof on http://$admin/debug/pprof/" >&2
  fi
  ADMIN_ADDR=$admin serve "stream$i" /readyz "${STREAM:-./bin/stream}"
  urls+=("$url")
done
stream_list=$(IFS=,; echo "${urls[*]}")

# Defaults: a short per-user phase (200/s for 5 s) for the comparison, then the
# broadcasts 2 s apart (after a 2 s baseline interval).
./bin/loadtest -stream "$stream_list" -function "$fn" -pids "$watch" \
  -rate 200 -duration 5s -idle 2s -broadcast "${BROADCASTS:-5}" -broadcast-interval 2s -timeout 15m \
  "${extra[@]}" "$@"
