package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
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

// Fault 10 (issue 24): a Memorystore STANDARD_HA failover. A primary and a replica
// fed over a link adding 25–60 ms each way (another zone, under load); the publisher
// (as the function) and the stream server reach Redis through one address. 1,200 job
// events at 300/s, each retried until acknowledged, as Pub/Sub does; at 2 s the
// primary is SIGKILLed, the replica promoted (REPLICAOF NO ONE) and the address
// switched to it. Every acknowledged notification must be in history afterwards, and
// every connected tab must have it (the tabs reconnect through the failover and
// resume). FAULT10_REPLICA_ACKS=0 runs it without the replica acknowledgement, to see
// what that loses (it fails).
func TestFault10_FailoverLosesNothingAcknowledged(t *testing.T) {
	acks := 1
	if v := os.Getenv("FAULT10_REPLICA_ACKS"); v != "" {
		acks, _ = strconv.Atoi(v)
	}
	primary := redistest.Start(t, redistest.Options{})
	link := redistest.StartLink(t, primary.Addr, 25*time.Millisecond, 60*time.Millisecond)
	replica := redistest.Start(t, redistest.Options{ReplicaOf: link.Addr})
	if err := redistest.WaitSynced(primary.Addr, replica.Addr, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	front := startSwitch(t, primary.Addr)
	url := startInProcess(t, front.addr, nil)
	const users = 20
	f := openFleet(t, users, 1, func() string { return url }, time.Hour)
	b, err := redisbroker.Open(config.Redis{Addr: front.addr, KeyPrefix: rediskey.DefaultPrefix,
		ReplicaAcks: config.ReplicaAcks(acks), ReplicaAckTimeout: config.AckTimeout(time.Second)},
		broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		acked    = map[string][]string{} // user → acknowledged ids
		attempts atomic.Int64
	)
	const events, rate = 1200, 300
	start := time.Now()
	failedOver := make(chan struct{})
	go func() {
		time.Sleep(2 * time.Second)
		primary.Stop() // SIGKILL
		admin := redis.NewClient(&redis.Options{Addr: replica.Addr})
		defer admin.Close()
		if err := admin.Do(context.Background(), "REPLICAOF", "NO", "ONE").Err(); err != nil {
			t.Error(err)
		}
		front.switchTo(replica.Addr)
		close(failedOver)
	}()
	for i := range events {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
		user := fmt.Sprint("user-", i%users)
		wg.Go(func() {
			msg, n := fmt.Sprint("job-", i), brokertest.Sample(i)
			deadline := time.Now().Add(30 * time.Second)
			for {
				attempts.Add(1)
				id, _, err := b.Publish(context.Background(), user, msg, n)
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
				time.Sleep(100 * time.Millisecond) // Pub/Sub's minimum backoff is longer; shorter keeps the test short
			}
		})
	}
	wg.Wait()
	<-failedOver
	published := time.Since(start)

	// History on the promoted replica: every acknowledged notification is there.
	admin := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer admin.Close()
	names := rediskey.Names{Prefix: rediskey.DefaultPrefix}
	missing, total := 0, 0
	for user, ids := range acked {
		entries, err := admin.XRange(context.Background(), names.Log(user), "-", "+").Result()
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
	}
	// Connected tabs: each has every acknowledged notification of its user.
	deadline := time.Now().Add(20 * time.Second)
	tabMissing := 0
	for {
		tabMissing = 0
		for _, tb := range f.tabs {
			tb.mu.Lock()
			for _, id := range acked[tb.user] {
				if !tb.seen[id] {
					tabMissing++
				}
			}
			tb.mu.Unlock()
		}
		if tabMissing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var resets int64
	for _, tb := range f.tabs {
		resets += tb.resets.Load()
	}
	f.stop()
	line := fmt.Sprintf("FAULT 10 failover at 2 s (replica link 25-60 ms, REDIS_REPLICA_ACKS=%d): %d events in %.2f s, %d attempts; acknowledged %d, missing from history %d, missing in connected tabs %d; %d tab resets",
		acks, events, published.Seconds(), attempts.Load(), total, missing, tabMissing, resets)
	t.Log(line)
	fmt.Println(line)
	if total != events || missing != 0 || tabMissing != 0 {
		t.Errorf("acknowledged %d of %d; %d acknowledged notifications missing from history, %d missing in tabs", total, events, missing, tabMissing)
	}
}
