package audience

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
)

// TestOnCluster: membership, the fan-out and the device store run on a real Redis
// Cluster (3 masters): every script touches one slot, so none fails with CROSSSLOT.
func TestOnCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	rdb := c.Client(t)
	names := rediskey.Names{Prefix: c.Prefix()}
	m := redisbroker.NewMembers(rdb, names, time.Now)
	devices := fcm.NewRedisStore(rdb, names)
	const users = 40
	for i := range users {
		u := fmt.Sprintf("u%02d", i)
		groups := []string{"7b", "chess"}[:1+i%2]
		if err := m.Record(ctx, u, groups); err != nil {
			t.Fatal(err)
		}
		if _, err := devices.Add(ctx, u, fcm.Device{Token: "tok-" + u, Platform: "ios"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Record(ctx, "u01", []string{"7b"}); err != nil { // left chess
		t.Fatal(err)
	}
	chess, err := m.Of(ctx, broker.GroupSource("chess"))
	if err != nil || len(chess) != users/2-1 || slices.Contains(chess, "u01") {
		t.Fatalf("chess = %v (%v)", chess, err)
	}
	f := NewFanout(rdb, names, m, FanoutOptions{Rate: 10000, Tick: 10 * time.Millisecond})
	if err := f.Start(ctx, "1-0", broker.Everyone, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for f.Queued() < users && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	if n := rdb.XLen(ctx, names.PushQueue()).Val(); n != users {
		t.Fatalf("%d entries queued on the cluster, want %d", n, users)
	}
	if devs, err := devices.List(ctx, "u07"); err != nil || len(devs) != 1 {
		t.Fatalf("devices on the cluster: %v %v", devs, err)
	}
}
