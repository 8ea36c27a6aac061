package redisbroker_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestClusterMemoryPerNotification: what a stored notification costs in Redis memory is
// the same on a cluster as on one Redis (the keys are the same; only the channel name
// differs, and channels store nothing). 10,000 notifications to 1,000 users through
// Publish, used_memory (less replication and client buffers) before and after, summed
// over the masters (docs/CLUSTER.md
// prints the figures: go test -count=1 -run TestClusterMemoryPerNotification -v
// ./shared/redisbroker/).
func TestClusterMemoryPerNotification(t *testing.T) {
	const users, perUser = 1000, 10
	one := redistest.Start(t, redistest.Options{})
	c := sharedCluster(t)
	rdb := redis.NewClient(&redis.Options{Addr: one.Addr})
	t.Cleanup(func() { rdb.Close() })
	limits := broker.Limits{MaxLen: 100, Retention: time.Hour, DedupeTTL: time.Hour}
	single, err := redisbroker.New(rdb, rediskey.Names{Prefix: "mem"}, limits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cluster := clusterBroker(t, c, limits)
	ctx := context.Background()
	measure := func(b *redisbroker.Broker, used func() int64) float64 {
		before := used()
		for u := range users {
			for i := range perUser {
				if _, _, err := b.Publish(ctx, fmt.Sprint("u", u), fmt.Sprint("m", u, "-", i), brokertest.Sample(i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		return float64(used()-before) / (users * perUser)
	}
	// Memory for data: used_memory without the replication backlog and client buffers
	// (a master with a replica grows a backlog of up to 1 MB as it is written to; one
	// Redis without a replica has none).
	usedOf := func(ctx context.Context, n redis.Cmdable) int64 {
		fields := map[string]int64{}
		for line := range strings.SplitSeq(n.Info(ctx, "memory").Val(), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok {
				fields[k], _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if _, ok := fields["used_memory"]; !ok {
			t.Fatal("no used_memory in INFO memory")
		}
		return fields["used_memory"] - fields["mem_replication_backlog"] - fields["mem_clients_slaves"] - fields["mem_clients_normal"]
	}
	perOne := measure(single, func() int64 { return usedOf(ctx, rdb) })
	perCluster := measure(cluster, func() int64 {
		var sum atomic.Int64 // ForEachMaster calls masters concurrently
		crdb := cluster.Client().(*redis.ClusterClient)
		if err := crdb.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			sum.Add(usedOf(ctx, n))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return sum.Load()
	})
	line := fmt.Sprintf("Redis memory per stored notification (%d users x %d, Publish): one Redis %.0f B, cluster of 3 masters %.0f B (summed)",
		users, perUser, perOne, perCluster)
	t.Log(line)
	if perCluster > 1.25*perOne || perCluster < 0.75*perOne {
		t.Errorf("a notification costs %.0f B on the cluster, %.0f B on one Redis: not the same", perCluster, perOne)
	}
}
