# shellcheck shell=bash
# A local Redis Cluster of N masters without replicas, for scripts/loadtest.sh
# (sourced, not run): the shard count is what a run compares. Needs port (serve.sh) and
# the caller's dir, pids and watch (see serve.sh).
#
# start_cluster N: starts N `redis-server --cluster-enabled yes` on free loopback ports,
# gives each an even share of the 16,384 slots (CLUSTER ADDSLOTSRANGE: redis-cli
# --cluster create wants at least three masters, and one shard is a case to measure),
# introduces them (CLUSTER MEET) and waits for cluster_state:ok on every node. Sets
# $cluster_addrs to their comma-separated addresses.
start_cluster() {
  local n=$1 ports=() buses=() i
  for i in $(seq "$n"); do
    local p bus
    p=$(port)
    bus=$(port) # the bus port is named: the default, port + 10000, may be past 65535
    redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
      --cluster-enabled yes --cluster-port "$bus" --cluster-config-file "nodes-$p.conf" --logfile "$dir/shard$i.log" &
    pids+=($!)
    watch="$watch,shard$i=$!"
    ports+=("$p")
    buses+=("$bus")
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.05; done
  done
  local per=$((16384 / n))
  for i in $(seq 0 $((n - 1))); do
    local first=$((i * per)) last=$(((i + 1) * per - 1))
    [ "$i" = $((n - 1)) ] && last=16383
    redis-cli -p "${ports[$i]}" CLUSTER ADDSLOTSRANGE "$first" "$last" >/dev/null
    [ "$i" = 0 ] || redis-cli -p "${ports[0]}" CLUSTER MEET 127.0.0.1 "${ports[$i]}" "${buses[$i]}" >/dev/null
  done
  for p in "${ports[@]}"; do
    local ok=
    for _ in $(seq 200); do
      if redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok'; then ok=1; break; fi
      sleep 0.05
    done
    if [ -z "$ok" ]; then
      echo "start_cluster: node 127.0.0.1:$p is not in a working cluster after 10 s" >&2
      return 1
    fi
  done
  cluster_addrs=$(printf '127.0.0.1:%s,' "${ports[@]}")
  cluster_addrs=${cluster_addrs%,}
}
