package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// StartReplica is what the failover tests build on: a replica fed over a delaying
// link lags its primary by the link's delay, and WAIT closes that gap.
func TestReplicaOverDelayingLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := redistest.Start(t, redistest.Options{})
	link := redistest.StartLink(t, primary.Addr, 80*time.Millisecond, 100*time.Millisecond)
	replica := redistest.Start(t, redistest.Options{ReplicaOf: link.Addr})
	p := redis.NewClient(&redis.Options{Addr: primary.Addr})
	r := redis.NewClient(&redis.Options{Addr: replica.Addr})
	t.Cleanup(func() { p.Close(); r.Close() })
	if err := redistest.WaitSynced(primary.Addr, replica.Addr, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := p.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Get(ctx, "k").Result(); v == "v1" {
		t.Fatal("the replica held the write at once: the link does not delay")
	}
	conn := p.Conn()
	defer conn.Close()
	if err := conn.Set(ctx, "k", "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	if took := time.Since(start); took < 160*time.Millisecond {
		t.Errorf("WAIT returned after %s, less than a round trip over the link", took)
	}
	if v, _ := r.Get(ctx, "k").Result(); v != "v2" {
		t.Errorf("replica holds %q after WAIT, want v2", v)
	}
}
