package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// Fault 1: the pub/sub connection is killed (CLIENT KILL TYPE pubsub) three times while
// 1,000 notifications go to 50 users with 2 tabs each.
func TestFault1_PubSubKilled(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	url := startInProcess(t, rs.Addr, nil)
	f := openFleet(t, 50, 2, func() string { return url }, time.Hour)
	p := newPublisher(t, rs.Addr)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer admin.Close()
	for i := range 1000 {
		if i%250 == 125 {
			if err := admin.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
				t.Fatal(err)
			}
		}
		p.publishMixed(t, f, i, fmt.Sprint("user-", i%50))
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // spread over ~50 ms+ so kills land mid-stream
		}
	}
	f.verify(t, "1 pub/sub killed x3, 1000 notifications (own, group, broadcast), 50 users x 2 tabs", 30*time.Second)
}

// Fault 2: redis-server (append-only file, fsync always) is killed and restarted while
// notifications are being published.
func TestFault2_RedisRestarted(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Persist: true})
	url := startInProcess(t, rs.Addr, nil)
	f := openFleet(t, 20, 2, func() string { return url }, time.Hour)
	p := newPublisher(t, rs.Addr)
	for i := range 400 {
		if i == 200 {
			if err := rs.Restart(); err != nil {
				t.Fatal(err)
			}
		}
		p.publishMixed(t, f, i, fmt.Sprint("user-", i%20))
	}
	f.verify(t, "2 redis restarted, 400 notifications (own, group, broadcast), 20 users x 2 tabs", 30*time.Second)
}

// Fault 7: streams end by themselves at their max age (1 s, jittered) and at their
// token's expiry (2 s tokens); clients resume with Last-Event-ID and fresh tokens.
func TestFault7_LifetimeCloses(t *testing.T) {
	addr := startRedis(t)
	url := startInProcess(t, addr, map[string]string{"MAX_CONN_AGE": "1s"})
	f := openFleet(t, 10, 2, func() string { return url }, 2*time.Second)
	p := newPublisher(t, addr)
	for i := range 300 {
		p.publishMixed(t, f, i, fmt.Sprint("user-", i%10))
		time.Sleep(12 * time.Millisecond) // ~4 s: several lifetimes
	}
	f.verify(t, "7 max-age 1s and 2s tokens, 300 notifications (own, group, broadcast), 10 users x 2 tabs", 20*time.Second)
	var reconnects int64
	for _, tb := range f.tabs {
		reconnects += tb.reconnects.Load()
	}
	if reconnects < int64(len(f.tabs))*2 {
		t.Fatalf("only %d reconnects: the lifetime closes did not happen", reconnects)
	}
	t.Logf("reconnects: %d", reconnects)
}
