package redisbroker_test

import (
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
	os.Exit(redistest.Main(m, func(s *redistest.Server) { server = s }))
}

// newBroker returns a broker on the shared server under a prefix of its own.
func newBroker(t *testing.T, limits broker.Limits) (*redisbroker.Broker, *redis.Client) {
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
	brokertest.Run(t, func(t *testing.T) brokertest.Broker {
		b, _ := newBroker(t, broker.Limits{MaxLen: brokertest.MaxLen, Retention: time.Hour, DedupeTTL: time.Hour})
		return b
	})
}
