package redisbroker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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

// BenchmarkSchedule measures one scheduled notification's way through the schedule:
// Put (the function), then Claim in batches of 100 and Done (a stream instance),
// against the private redis-server; the writes to the logs are Publish's cost.
func BenchmarkSchedule(b *testing.B) {
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr})
	defer rdb.Close()
	s := redisbroker.NewSchedule(rdb, rediskey.Names{Prefix: fmt.Sprintf("bench%d", prefix.Add(1))})
	ctx := context.Background()
	due := time.Now()
	n := brokertest.Sample(1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		it := broker.Scheduled{Key: broker.MessageKeyOf(fmt.Sprint(i)), MessageID: fmt.Sprint(i), Sources: []string{"u-1"}, Notification: n, DueAt: due}
		if err := s.Put(ctx, it); err != nil {
			b.Fatal(err)
		}
		if i%100 == 99 {
			got, err := s.Claim(ctx, due, time.Second, 100)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range got {
				if err := s.Done(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
