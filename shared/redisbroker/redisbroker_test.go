package redisbroker_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

var (
	server *redistest.Server
	prefix atomic.Int64
)

func TestMain(m *testing.M) {
	code := redistest.Main(m, func(s *redistest.Server) { server = s })
	stopCluster()
	os.Exit(code)
}

// newBroker returns a broker on the shared server under a prefix of its own.
func newBroker(t *testing.T, limits broker.Limits) (*redisbroker.Broker, redis.UniversalClient) {
	t.Helper()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	names := rediskey.Names{Prefix: fmt.Sprintf("t%d", prefix.Add(1))}
	b, err := redisbroker.New(rdb, names, limits, redisbroker.Options{PingInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return b, rdb
}

func TestRedisContract(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) broker.Broker {
		b, rdb := newBroker(t, broker.Limits{MaxLen: brokertest.MaxLen, Retention: time.Hour, DedupeTTL: time.Hour})
		return planter{b, rdb}
	})
}

// planter is a broker that can plant an undecodable entry (brokertest.Planter): a
// plain XADD of brokertest.UndecodableBody, what the write path once stored.
type planter struct {
	*redisbroker.Broker
	rdb redis.UniversalClient
}

func (p planter) PlantUndecodable(ctx context.Context, source string) (string, error) {
	return p.rdb.XAdd(ctx, &redis.XAddArgs{Stream: redisbroker.LogKey(p.Broker, source), Values: []string{"n", brokertest.UndecodableBody}}).Result()
}

// BenchmarkPublish measures the write script's round trip (dedupe, XADD, trim, marker,
// PUBLISH) against the private redis-server.
func BenchmarkPublish(b *testing.B) {
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		b.Fatal(err)
	}
	defer rdb.Close()
	br, _ := redisbroker.New(rdb, rediskey.Names{Prefix: fmt.Sprintf("bench%d", prefix.Add(1))}, broker.DefaultLimits, redisbroker.Options{})
	n := brokertest.Sample(1)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, _, err := br.Publish(context.Background(), fmt.Sprint("u", i%100), fmt.Sprint("m", i), n); err != nil {
			b.Fatal(err)
		}
	}
}
