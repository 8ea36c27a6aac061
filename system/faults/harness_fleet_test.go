package faults

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// fleet is every tab of a test, and what was published to each log.
type fleet struct {
	tabs      []*tab
	mu        sync.Mutex
	published map[string][]string  // log (a user id, "@<group>", "!all") → ids in publish order
	sentAt    map[string]time.Time // by sentKey: a user's ids are plain positions, so two users' can be equal
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// openFleet connects tabsPerUser tabs for each of users users and waits until all are
// open. user-u's tokens name groupsOf(u).
func openFleet(t *testing.T, users, tabsPerUser int, base func() string, tokenLife time.Duration) *fleet {
	t.Helper()
	return openTabs(t, users, tabsPerUser, func(ctx context.Context, tb *tab) { tb.run(ctx, base, tokenLife) })
}

// openTabs starts tabsPerUser tabs for each of users users (user-u in groupsOf(u)), each
// running run until the fleet stops, and waits until all are open.
func openTabs(t *testing.T, users, tabsPerUser int, run func(context.Context, *tab)) *fleet {
	t.Helper()
	return openTabsWith(t, users, tabsPerUser, nil, run)
}

// openTabsWith is openTabs with setup applied to each tab before it starts.
func openTabsWith(t *testing.T, users, tabsPerUser int, setup func(*tab), run func(context.Context, *tab)) *fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleet{published: map[string][]string{}, sentAt: map[string]time.Time{}, cancel: cancel}
	for u := range users {
		for range tabsPerUser {
			tb := newTab(fmt.Sprintf("user-%d", u), groupsOf(u))
			if setup != nil {
				setup(tb)
			}
			f.tabs = append(f.tabs, tb)
			f.wg.Add(1)
			go func() { defer f.wg.Done(); run(ctx, tb) }()
		}
	}
	t.Cleanup(f.stop)
	deadline := time.After(60 * time.Second)
	for _, tb := range f.tabs {
		select {
		case <-tb.connected:
		case <-deadline:
			t.Fatal("tabs did not all connect within 60s")
		}
	}
	return f
}

func (f *fleet) stop() { f.cancel(); f.wg.Wait() }

// want is what tb must receive: for each log of its audience (its user's own as
// ownLog, the broadcast log, its groups'), the ids published there. f.mu held.
func (f *fleet) want(tb *tab) map[string][]string {
	w := map[string][]string{}
	for _, log := range logsOf(tb.groups) {
		source := log
		if log == ownLog {
			source = tb.user
		}
		if ids := f.published[source]; len(ids) > 0 {
			w[log] = ids
		}
	}
	return w
}

// publisher stores notifications as the function does, retrying through outages (the
// dedupe marker makes a retry after an ambiguous failure safe).
type publisher struct {
	b *redisbroker.Broker
	n atomic.Int64
}

func newPublisher(t *testing.T, addr string) *publisher {
	t.Helper()
	b, err := redisbroker.Open(config.Redis{Mode: redisMode(addr), Addr: addr, KeyPrefix: rediskey.DefaultPrefix}, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &publisher{b: b}
}

func sentKey(source, id string) string { return source + "\x00" + id }

// publish stores a job notification for user.
func (p *publisher) publish(t *testing.T, f *fleet, user string) {
	t.Helper()
	p.publishTo(t, f, user)
}

// publishMixed is the i-th step of a mixed run: a job notification for user, and at
// some steps (mixedExtra) an announcement for a group or for everyone.
func (p *publisher) publishMixed(t *testing.T, f *fleet, i int, user string) {
	t.Helper()
	p.publish(t, f, user)
	if source, ok := mixedExtra(i); ok {
		p.publishTo(t, f, source)
	}
}

// publishTo stores a notification in source's log: a job notification for a user, an
// announcement for a group ("@<group>") or for everyone ("!all"), as the function's
// entry points store them.
func (p *publisher) publishTo(t *testing.T, f *fleet, source string) {
	t.Helper()
	k := int(p.n.Add(1))
	msg := fmt.Sprint("m-", k)
	n := brokertest.Sample(k)
	if !broker.IsUserSource(source) {
		n = announcement(source, k)
	}
	deadline := time.Now().Add(30 * time.Second)
	start := time.Now()
	for {
		id, _, err := p.b.Publish(context.Background(), source, msg, n)
		if err == nil {
			f.mu.Lock()
			f.published[source] = append(f.published[source], id)
			f.sentAt[sentKey(source, id)] = start
			f.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish kept failing: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
