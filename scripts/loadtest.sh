#!/usr/bin/env bash
# Runs bin/loadtest against the real binaries on this machine: a private redis-server,
# bin/notify and STREAMS bin/stream processes on free loopback ports (each with the
# Go runtime's default settings and a connection ceiling above the test's), watching
# all of them through /proc.
# Usage: [STREAMS=n] [FUNCTIONS=n] [ADMIN=1] [NOTIFY=path] [STREAM=path] \
#          [FUNCTION_GOMAXPROCS=n] [LOG_LEVEL=warn] [REPLICA=1] [SHARDS=n] scripts/loadtest.sh [bin/loadtest flags]
# (make build first). Each bin/notify process gets -inflight requests at a time
# (default 8), as Pub/Sub pushes to an instance that takes concurrent requests.
# With REPLICA=1 the Redis has a replica (a second redis-server), so bin/notify waits
# for it (WAIT, REDIS_REPLICA_ACKS=1 by default): the cost of the failover guarantee.
# With SHARDS=n the servers run in cluster mode (REDIS_MODE=cluster) on a local Redis
# Cluster of n masters without replicas (scripts/lib/cluster.sh) instead of one Redis.
# With ADMIN=1 the first stream process serves pprof on 127.0.0.1:6060. NOTIFY and
# STREAM run other builds (default bin/notify, bin/stream), e.g. to compare two
# versions in one session.
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${STREAMS:-1}
dir=$(mktemp -d)
pids=()
# The servers' logs are kept in artifacts/loadtest/ for a look after the run.
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  mkdir -p artifacts/loadtest && cp "$dir"/*.log artifacts/loadtest/ 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" # every connection is a file, on both sides
# port and serve (free loopback ports, servers waited for).
. scripts/lib/serve.sh

watch=
if [ -n "${SHARDS:-}" ]; then
  . scripts/lib/cluster.sh
  start_cluster "$SHARDS"
  watch=${watch#,}
  export REDIS_MODE=cluster REDIS_ADDR=$cluster_addrs
  if [ "${REPLICA:-0}" = 1 ]; then
    echo "loadtest.sh: REPLICA=1 is for one Redis; SHARDS=n runs masters without replicas" >&2
    exit 2
  fi
else
  rp=$(port)
  redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" &
  pids+=($!)
  watch="redis=$!"
  export REDIS_ADDR=127.0.0.1:$rp
fi
if [ "${REPLICA:-0}" = 1 ]; then
  rr=$(port)
  redis-server --port "$rr" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/replica.log" \
    --replicaof 127.0.0.1 "$rp" --repl-diskless-sync-delay 0 &
  pids+=($!)
  watch="$watch,replica=$!"
  for _ in $(seq 100); do # WAIT counts the replica once the primary lists it online
    redis-cli -p "$rp" INFO replication 2>/dev/null | grep -q 'state=online' && break
    sleep 0.1
  done
fi
export JWT_SECRET=loadtest-secret-loadtest-secret-0123 LOG_LEVEL=${LOG_LEVEL:-warn}
# All clients come from loopback: lift the per-IP and per-user limits; allow a process
# to hold what one file limit allows. Several bin/stream run here: none serves metrics
# on the default METRICS_ADDR (127.0.0.1:9090); the load tool reads /proc, not /metrics.
export RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_BURST=1000000 MAX_CONNS=100000 MAX_CONNS_PER_USER=1000
export RATE_LIMIT_PER_USER=1000000 RATE_LIMIT_USER_BURST=1000000 METRICS_ADDR=off

fns=()
for i in $(seq "${FUNCTIONS:-1}"); do
  # GOMAXPROCS 1, as Go sets it on the function's 1-vCPU Cloud Run instance
  # (available_cpu = "1"); FUNCTION_GOMAXPROCS overrides it.
  serve "notify$i" / env GOMAXPROCS="${FUNCTION_GOMAXPROCS:-1}" "${NOTIFY:-./bin/notify}"
  fns+=("$url/")
done
urls=()
for i in $(seq "$streams"); do
  admin=
  if [ "${ADMIN:-}" = 1 ] && [ "$i" = 1 ]; then admin=127.0.0.1:6060; fi
  ADMIN_ADDR=$admin serve "stream$i" /readyz "${STREAM:-./bin/stream}"
  urls+=("$url")
done

stream_list=$(IFS=,; echo "${urls[*]}")
fn_list=$(IFS=,; echo "${fns[*]}")
./bin/loadtest -stream "$stream_list" -function "$fn_list" -pids "$watch" "$@"
