package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// Faults 11 and 12 (issue 25): Memorystore for Redis Cluster losing a master, and
// moving a slot, under load. A real local cluster (3 masters, 3 replicas); a stream
// server and the publisher (as the function, REDIS_REPLICA_ACKS=1) in cluster mode;
// 20 users with a tab each; 1,200 job events at 300/s, each retried until acknowledged
// as Pub/Sub does. At 2 s the disruption hits the master (or the slot) of user-0's
// keys. Afterwards every acknowledged notification must be in its user's log exactly
// once, and every tab must have it exactly once. FAULT_CLUSTER_REPLICA_ACKS=0 runs them
// without the replica acknowledgement (fault 11 then loses what the dead master had not
// passed on).

func TestFault11_ClusterMasterKilledUnderLoad(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	runClusterFault(t, c, "FAULT 11 cluster master of user-0 SIGKILLed at 2 s (replica promoted)", func(ctx context.Context, slot int) error {
		owner, err := c.MasterOf(ctx, slot)
		if err == nil {
			_, err = c.KillMaster(ctx, owner.Addr)
		}
		return err
	})
}

func TestFault12_ClusterSlotMigratedUnderLoad(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	runClusterFault(t, c, "FAULT 12 slot of user-0 migrated to another master at 2 s", func(ctx context.Context, slot int) error {
		owner, err := c.MasterOf(ctx, slot)
		if err != nil {
			return err
		}
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.Master && n.Running && n.Addr != owner.Addr {
				return c.MigrateSlot(ctx, slot, n.Addr)
			}
		}
		return fmt.Errorf("no other master")
	})
}

// runClusterFault runs the load, calls disrupt with user-0's slot at 2 s, and checks.
func runClusterFault(t *testing.T, c *redistest.Cluster, what string, disrupt func(context.Context, int) error) {
	seeds := strings.Join(c.Seeds, ",")
	url := startInProcess(t, seeds, map[string]string{"REDIS_MODE": "cluster"})
	const users, events, rate = 20, 1200, 300
	acks := 1
	if v := os.Getenv("FAULT_CLUSTER_REPLICA_ACKS"); v != "" {
		acks, _ = strconv.Atoi(v)
	}
	f := openFleet(t, users, 1, func() string { return url }, time.Hour)
	b, err := redisbroker.Open(config.Redis{Mode: config.ModeCluster, Addr: seeds, KeyPrefix: rediskey.DefaultPrefix,
		ReplicaAcks: config.ReplicaAcks(acks), ReplicaAckTimeout: config.AckTimeout(time.Second)}, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	slot, err := c.Slot(ctx, b.Names().Log("user-0"))
	if err != nil {
		t.Fatal(err)
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		acked    = map[string][]string{} // user → acknowledged ids
		attempts atomic.Int64
	)
	start := time.Now()
	disrupted := make(chan error, 1)
	go func() {
		time.Sleep(2 * time.Second)
		disrupted <- disrupt(ctx, slot)
	}()
	for i := range events {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
		user := fmt.Sprint("user-", i%users)
		wg.Go(func() {
			msg, n := fmt.Sprint("job-", i), brokertest.Sample(i)
			deadline := time.Now().Add(60 * time.Second)
			for {
				attempts.Add(1)
				id, _, err := b.Publish(ctx, user, msg, n)
				if err == nil {
					mu.Lock()
					acked[user] = append(acked[user], id)
					mu.Unlock()
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("%s never acknowledged: %v", msg, err)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if err := <-disrupted; err != nil {
		t.Fatal(err)
	}
	published := time.Since(start)

	// Every log, read through the cluster as it is now: each acknowledged id once, and
	// no entry that was not acknowledged (a duplicate store of a retried event).
	rdb := c.Client(t)
	missing, extra, total := 0, 0, 0
	for user, ids := range acked {
		entries, err := rdb.XRange(ctx, b.Names().Log(user), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, e := range entries {
			have[e.ID] = true
		}
		for _, id := range ids {
			total++
			if !have[id] {
				missing++
			}
		}
		extra += len(entries) - len(ids)
	}
	deadline := time.Now().Add(30 * time.Second)
	var tabMissing, tabDup int
	for {
		tabMissing, tabDup = 0, 0
		for _, tb := range f.tabs {
			tb.mu.Lock()
			for _, id := range acked[tb.user] {
				if !tb.seen[id] {
					tabMissing++
				}
			}
			tabDup += len(tb.ids) - len(tb.seen)
			tb.mu.Unlock()
		}
		if tabMissing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var resets, reconnects int64
	for _, tb := range f.tabs {
		resets += tb.resets.Load()
		reconnects += tb.reconnects.Load()
	}
	f.stop()
	line := fmt.Sprintf("%s, REDIS_REPLICA_ACKS=%d: %d events in %.2f s, %d attempts; acknowledged %d, missing from logs %d, extra log entries %d, missing in tabs %d, duplicates in tabs %d; %d tab reconnects, %d resets",
		what, acks, events, published.Seconds(), attempts.Load(), total, missing, extra, tabMissing, tabDup, reconnects, resets)
	t.Log(line)
	fmt.Println(line)
	if total != events || missing != 0 || extra != 0 || tabMissing != 0 || tabDup != 0 {
		t.Errorf("acknowledged %d of %d; missing from logs %d, extra entries %d, missing in tabs %d, duplicates in tabs %d",
			total, events, missing, extra, tabMissing, tabDup)
	}
}
