package webpush

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/audience"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
)

// TestBroadcastSurvivesAnInstanceKill: instance A starts a broadcast and is stopped
// mid fan-out without draining (its requests cut, its lease and pending entries left
// behind, as when Cloud Run kills it); instance B resumes the fan-out from the cursor
// and reclaims A's pending entries. Every member with a device is pushed, and none more
// than once except the entries A had in flight when it died (the stated bound: a crash
// between a send and its acknowledgement).
func TestBroadcastSurvivesAnInstanceKill(t *testing.T) {
	t.Parallel()
	const users, inFlight = 300, 8
	m := newMobileEnv(t, true, func(o *WorkerOptions) {
		o.MaxInFlight, o.ClaimIdle, o.Drain = inFlight, 600*time.Millisecond, time.Millisecond
	})
	ctx := context.Background()
	names := m.devices.Names()
	members := redisbroker.NewMembers(m.rdb, names, time.Now)
	for i := range users {
		u := fmt.Sprintf("u%04d", i)
		if err := members.Record(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		m.register(u, "tok-"+u, "android")
	}
	fanout := func() *audience.Fanout {
		return audience.NewFanout(m.rdb, names, members, audience.FanoutOptions{Rate: 400, Lease: 300 * time.Millisecond, Tick: 20 * time.Millisecond})
	}
	a := m.worker
	a.opts.Fanout = fanout()
	m.run(m.fcmW)
	actx, kill := context.WithCancel(ctx)
	adone := make(chan struct{})
	go func() { defer close(adone); a.Run(actx) }()
	if _, err := Enqueue(ctx, m.rdb, m.queue, broker.Everyone, []byte(`{"id":"!all:1-0","type":"announcement","title":"Snow day","created_at":"2026-12-06T07:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	for m.fcmSrv.Accepted() < users/4 {
		time.Sleep(5 * time.Millisecond)
	}
	kill()
	<-adone
	if got := m.fcmSrv.Accepted(); got >= users {
		t.Fatalf("A pushed all %d before it was killed", got)
	}
	opts := a.opts
	opts.Consumer, opts.Fanout = "", fanout()
	b, err := NewWorker(m.rdb, nil, nil, m.users, m.users, opts)
	if err != nil {
		t.Fatal(err)
	}
	m.run(b)
	deadline := time.Now().Add(30 * time.Second)
	for !allPushed(m, users) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d users pushed; A %+v B %+v", len(perToken(m)), users, a.Stats(), b.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	extra := 0
	for tok, n := range perToken(m) {
		if n > 1 {
			extra += n - 1
			t.Logf("%s pushed %d times", tok, n)
		}
	}
	if extra > inFlight {
		t.Fatalf("%d repeated pushes, more than the %d entries A could have had in flight", extra, inFlight)
	}
}

func perToken(m *mobileEnv) map[string]int {
	got := map[string]int{}
	for _, r := range m.fcmSrv.Received() {
		got[r.Token]++
	}
	return got
}

func allPushed(m *mobileEnv, users int) bool { return len(perToken(m)) == users }

var _ fcm.Store = (*fcm.RedisStore)(nil)
