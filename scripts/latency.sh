#!/usr/bin/env bash
# Measures publish→SSE latency through the real binaries: a private redis-server,
# bin/notify and bin/stream on free loopback ports, and bin/latency as the clients.
# Usage: scripts/latency.sh [bin/latency flags]   (run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rp=$(port); sp=$(port); fp=$(port)
redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" &
pids+=($!)
export JWT_SECRET=latency-secret-latency-secret-0123 REDIS_ADDR=127.0.0.1:$rp LOG_LEVEL=warn
# Every client connects from 127.0.0.1: lift the per-IP connect limit for the measurement.
export RATE_LIMIT_PER_IP=100000 RATE_LIMIT_BURST=100000
PORT=$fp ./bin/notify >"$dir/notify.log" 2>&1 & pids+=($!)
PORT=$sp ./bin/stream >"$dir/stream.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$sp/readyz" >/dev/null 2>&1 && curl -s -o /dev/null "http://127.0.0.1:$fp/" && break
  sleep 0.1
done
./bin/latency -stream "http://127.0.0.1:$sp" -function "http://127.0.0.1:$fp/" "$@"
