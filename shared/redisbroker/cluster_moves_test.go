package redisbroker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestClusterLiveSurvivesSlotMoveAndFailover: a subscriber keeps receiving through the
// two ways a shard channel leaves its master — its slot migrated to another master
// (the old one answers sunsubscribe), and its master SIGKILLed (its replica promoted).
// Each time the session is replaced and the sink told to resync (the consumers' replay
// covers the gap), and what is published afterwards arrives. Without the
// sunsubscribe handling the subscriber would stay on the old master and hear nothing;
// without the session rebuild go-redis would resubscribe on the dead master's address.
//
// Then the replica acknowledgement is per master: the promoted master has no replica,
// so a write to its slots is acknowledged unreplicated (counted), while a write to
// another master's slot waits for that master's replica and is not counted. A WAIT
// sent through the cluster client (any master) or a replica count read from another
// master would get one of the two wrong.
func TestClusterLiveSurvivesSlotMoveAndFailover(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, redistest.ClusterOptions{NodeTimeout: time.Second})
	var unreplicated atomic.Int64
	b := clusterBrokerWith(t, c, broker.Limits{MaxLen: 100, Retention: time.Hour, DedupeTTL: time.Hour},
		redisbroker.Options{PingInterval: 100 * time.Millisecond, ReplicaAcks: 1, ReplicaAckTimeout: time.Second,
			OnUnreplicated: func() { unreplicated.Add(1) }})
	sink := resyncSignal{brokertest.NewRecorder(), make(chan struct{}, 16)}
	runningWith(t, b, "ada", sink)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	published := 0
	publish := func() {
		t.Helper()
		published++
		// As Pub/Sub does for the function: retry until stored (MOVED, TRYAGAIN or a
		// dead master are errors until the client knows the new owner).
		for {
			_, _, err := b.Publish(ctx, "ada", fmt.Sprint("m", published), brokertest.Sample(published))
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("publish %d: %v", published, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sink.WaitFor(t, "ada", published)
	}
	resynced := func(what string) {
		t.Helper()
		select {
		case <-sink.resyncs:
		case <-ctx.Done():
			t.Fatalf("no resync after %s", what)
		}
	}
	publish()

	slot, err := c.Slot(ctx, redisbroker.ChannelOf(b, "ada"))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := c.MasterOf(ctx, slot)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var to string
	for _, n := range nodes {
		if n.Master && n.Addr != owner.Addr {
			to = n.Addr
			break
		}
	}
	if err := c.MigrateSlot(ctx, slot, to); err != nil {
		t.Fatal(err)
	}
	resynced("the slot moved")
	publish()

	before := unreplicated.Load()
	promoted, err := c.KillMaster(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	resynced("the master died")
	publish()
	if err := b.Ready(ctx); err != nil {
		t.Errorf("Ready after the failover: %v", err)
	}
	if got := unreplicated.Load() - before; got < 1 {
		t.Errorf("writes to the promoted master %s (no replica) counted unreplicated: %d, want at least 1", promoted, got)
	}

	// A user on a master that kept its replica.
	var other string
	for i := 0; other == ""; i++ {
		user := fmt.Sprint("u", i)
		s, err := c.Slot(ctx, redisbroker.ChannelOf(b, user))
		if err != nil {
			t.Fatal(err)
		}
		if m, err := c.MasterOf(ctx, s); err == nil && m.Addr != promoted {
			other = user
		}
	}
	before = unreplicated.Load()
	if _, _, err := b.Publish(ctx, other, "x", brokertest.Sample(0)); err != nil {
		t.Fatalf("publish to %s: %v", other, err)
	}
	if got := unreplicated.Load() - before; got != 0 {
		t.Errorf("a write to a master with a replica counted unreplicated %d times", got)
	}
}
