package redisbroker_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// One real cluster (3 masters + 3 replicas) for the tests of this binary that only read
// and write, started by the first that needs it; tests that kill or move nodes start
// their own.
var clusterOnce struct {
	sync.Once
	c   *redistest.Cluster
	dir string
	err error
}

func sharedCluster(t *testing.T) *redistest.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		clusterOnce.dir, clusterOnce.err = os.MkdirTemp("", "redisbroker-cluster")
		if clusterOnce.err == nil {
			clusterOnce.c, clusterOnce.err = redistest.StartClusterProcess(clusterOnce.dir, redistest.ClusterOptions{})
		}
	})
	if clusterOnce.err != nil {
		t.Fatal(clusterOnce.err)
	}
	return clusterOnce.c
}

func stopCluster() {
	if clusterOnce.c != nil {
		clusterOnce.c.Stop()
	}
	if clusterOnce.dir != "" {
		_ = os.RemoveAll(clusterOnce.dir)
	}
}

// clusterBroker is a broker on c in cluster mode, as REDIS_MODE=cluster configures it,
// under a prefix of its own.
func clusterBroker(t *testing.T, c *redistest.Cluster, limits broker.Limits) *redisbroker.Broker {
	t.Helper()
	return clusterBrokerWith(t, c, limits, redisbroker.Options{PingInterval: 100 * time.Millisecond})
}

func clusterBrokerWith(t *testing.T, c *redistest.Cluster, limits broker.Limits, opts redisbroker.Options) *redisbroker.Broker {
	t.Helper()
	rdb, err := redisbroker.NewClient(config.Redis{Mode: config.ModeCluster, Addr: strings.Join(c.Seeds, ",")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	b, err := redisbroker.New(rdb, rediskey.Names{Prefix: c.Prefix()}, limits, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestClusterContract: the whole broker contract, on a real Redis Cluster.
func TestClusterContract(t *testing.T) {
	c := sharedCluster(t)
	brokertest.Run(t, func(t *testing.T) broker.Broker {
		b := clusterBroker(t, c, broker.Limits{MaxLen: brokertest.MaxLen, Retention: time.Hour, DedupeTTL: time.Hour})
		return planter{b, b.Client()}
	})
}
