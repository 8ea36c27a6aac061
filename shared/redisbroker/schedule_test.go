package redisbroker_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

func TestRedisScheduleContract(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr})
	t.Cleanup(func() { rdb.Close() })
	brokertest.RunSchedule(t, func(*testing.T) broker.Schedule {
		return redisbroker.NewSchedule(rdb, rediskey.Names{Prefix: fmt.Sprintf("t%d", prefix.Add(1))})
	})
}

// TestRedisScheduleContractOnCluster: the same contract on a real three-master
// cluster, through the cluster client: every script keeps to the {sched} slot.
func TestRedisScheduleContractOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	rdb := c.Client(t)
	brokertest.RunSchedule(t, func(*testing.T) broker.Schedule {
		return redisbroker.NewSchedule(rdb, rediskey.Names{Prefix: fmt.Sprintf("t%d", prefix.Add(1))})
	})
}

func TestRedisBefore(t *testing.T) {
	brokertest.RunBefore(t, func(t *testing.T) brokertest.OlderReader {
		b, _ := newBroker(t, broker.DefaultLimits)
		return b
	})
}
