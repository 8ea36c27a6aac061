package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// countingBroker counts the log entries history reads.
type countingBroker struct {
	broker.Broker
	read atomic.Int64
}

func (c *countingBroker) Latest(ctx context.Context, source string, limit int) ([]notification.Envelope, error) {
	out, err := c.Broker.Latest(ctx, source, limit)
	c.read.Add(int64(len(out)))
	return out, err
}

func (c *countingBroker) Range(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	out, err := c.Broker.Range(ctx, source, pos, limit)
	c.read.Add(int64(len(out)))
	return out, err
}

// historyFixture is a user in 10 groups whose own, broadcast and group logs hold
// perLog notifications each, published in an order given by pick.
func historyFixture(t *testing.T, perLog int, pick func(i int) int) (*Server, *countingBroker, auth.Identity) {
	t.Helper()
	mem, err := broker.NewMemory(broker.Limits{MaxLen: 1000, Retention: time.Hour, DedupeTTL: time.Hour}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	id := auth.Identity{UserID: "hal"}
	for g := range 10 {
		id.Groups = append(id.Groups, fmt.Sprintf("class-%d", g))
	}
	sources := streamSources(id)
	for i := range perLog * len(sources) {
		source := sources[pick(i)%len(sources)]
		if _, _, err := mem.Publish(context.Background(), source, fmt.Sprint("m-", i), brokertest.Sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	cb := &countingBroker{Broker: mem}
	return &Server{broker: cb}, cb, id
}

// Issue 23 #4: one page of history reads what the page needs, not a full page from
// each of the user's 12 logs: the first page of 200 over 12 full logs read 2,400
// entries; the answer is the same newest 200 a full read gives.
func TestSecurity_HistoryReadsBounded(t *testing.T) {
	s, cb, id := historyFixture(t, 300, func(i int) int { return i })
	sources := streamSources(id)
	keyOf := func(source string) string { return cursorKey(id.UserID, source) }
	items, next, err := s.latestMerge(context.Background(), sources, keyOf, maxHistoryLimit)
	if err != nil {
		t.Fatal(err)
	}
	newest := cb.read.Load()
	cb.read.Store(0)
	if len(next) != len(sources) {
		t.Fatalf("cursor %v", next)
	}
	start := make(cursor.Cursor, len(sources))
	for _, source := range sources {
		start[keyOf(source)] = rediskey.Zero
	}
	after, err := s.listAfter(context.Background(), sources, start, keyOf, maxHistoryLimit)
	if err != nil || len(after) != maxHistoryLimit {
		t.Fatalf("page after the start: %d items, %v", len(after), err)
	}
	t.Logf("12 logs of 300, limit=200: newest page read %d entries, a page after a cursor %d (a full page per log: %d)",
		newest, cb.read.Load(), 12*maxHistoryLimit)
	if len(items) != maxHistoryLimit {
		t.Fatalf("%d items, want %d", len(items), maxHistoryLimit)
	}
	if newest > 3*maxHistoryLimit || cb.read.Load() > 3*maxHistoryLimit {
		t.Errorf("a page of 200 read %d (newest) and %d (after a cursor) entries", newest, cb.read.Load())
	}
}

// latestMerge lists exactly what reading every log in full and keeping the newest
// limit lists, however the notifications are spread over the logs.
func TestHistoryLatestMergeMatchesFullRead(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 7))
		skew := r.IntN(12)
		s, _, id := historyFixture(t, 40, func(i int) int {
			if r.IntN(3) == 0 {
				return skew // one log holds much of the page
			}
			return r.IntN(12)
		})
		sources := streamSources(id)
		keyOf := func(source string) string { return cursorKey(id.UserID, source) }
		limit := 1 + r.IntN(maxHistoryLimit)
		got, _, err := s.latestMerge(context.Background(), sources, keyOf, limit)
		if err != nil {
			t.Fatal(err)
		}
		var all []notification.Envelope
		for _, source := range sources {
			items, err := s.broker.Latest(context.Background(), source, 1000)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, items...)
		}
		pos := func(e notification.Envelope) string { p, _ := positionOf(e.ID); return p.String() }
		slices.SortStableFunc(all, func(a, b notification.Envelope) int {
			pa, _ := positionOf(a.ID)
			pb, _ := positionOf(b.ID)
			return pa.Compare(pb)
		})
		want := all[max(0, len(all)-limit):]
		if !slices.EqualFunc(got, want, func(a, b notification.Envelope) bool { return a.ID == b.ID }) {
			t.Fatalf("seed %d, limit %d: %d items, first %s; want %d, first %s", seed, limit, len(got), pos(got[0]), len(want), pos(want[0]))
		}
	}
}

// Issue 23 #4: at most maxHistoryInFlight history requests of one user run at once on
// an instance (the handler answers 429 past it); other users are not affected.
func TestSecurity_HistoryInFlightCapped(t *testing.T) {
	var f inFlight
	for i := range maxHistoryInFlight {
		if !f.enter("hal", maxHistoryInFlight) {
			t.Fatalf("request %d of hal refused", i+1)
		}
	}
	if f.enter("hal", maxHistoryInFlight) {
		t.Fatal("a fifth concurrent history request of hal admitted")
	}
	if !f.enter("ida", maxHistoryInFlight) {
		t.Fatal("ida refused because of hal")
	}
	f.leave("hal")
	if !f.enter("hal", maxHistoryInFlight) {
		t.Fatal("hal refused after one of his requests ended")
	}
	for range maxHistoryInFlight {
		f.leave("hal")
	}
	f.leave("ida")
	if len(f.n) != 0 {
		t.Errorf("counts left behind: %v", f.n)
	}
}
