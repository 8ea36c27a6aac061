package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

func TestMemoryContract(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) broker.Broker {
		m, err := broker.NewMemory(broker.Limits{MaxLen: brokertest.MaxLen, Retention: time.Hour, DedupeTTL: time.Hour}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestMemoryRetentionAndDedupeExpiry(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	m, err := broker.NewMemory(broker.Limits{MaxLen: 100, Retention: time.Hour, DedupeTTL: 2 * time.Hour}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, _, _ := m.Publish(ctx, "u", "m1", brokertest.Sample(1))
	c.Add(30 * time.Minute)
	second, _, _ := m.Publish(ctx, "u", "m2", brokertest.Sample(2))
	c.Add(45 * time.Minute) // the first is now 75 minutes old: past retention
	from, err := rediskey.ParseStreamID(first)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.After(ctx, "u", from, 10)
	if err != nil || len(got) != 1 || got[0].ID != second {
		t.Fatalf("After(first) = %v, %v; want only the second", got, err)
	}
	if _, err := m.After(ctx, "u", rediskey.Zero, 10); err == nil {
		t.Fatal("resume from before a retention-trimmed entry did not reset")
	}
	if _, dup, _ := m.Publish(ctx, "u", "m1", brokertest.Sample(1)); !dup {
		t.Fatal("message id forgotten before DedupeTTL")
	}
	c.Add(3 * time.Hour) // log expired entirely, dedupe marks too
	if got, err := m.Latest(ctx, "u", 10); err != nil || len(got) != 0 {
		t.Fatalf("expired log still has %d entries (%v)", len(got), err)
	}
	if _, dup, _ := m.Publish(ctx, "u", "m1", brokertest.Sample(1)); dup {
		t.Fatal("message id remembered past DedupeTTL")
	}
}

func TestNewMemoryRejectsBadLimits(t *testing.T) {
	t.Parallel()
	if _, err := broker.NewMemory(broker.Limits{}, time.Now); err == nil {
		t.Fatal("zero limits accepted")
	}
	if _, err := broker.NewMemory(broker.DefaultLimits, nil); err == nil {
		t.Fatal("nil clock accepted")
	}
}

func TestMemoryRunOnce(t *testing.T) {
	t.Parallel()
	m, _ := broker.NewMemory(broker.DefaultLimits, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx, brokertest.NewRecorder())
	// A second Run with a finished context returns nil at once if it got in first (the
	// goroutine above had not started yet); once the first one holds the sink, it errs.
	done, stop := context.WithCancel(context.Background())
	stop()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if err := m.Run(done, brokertest.NewRecorder()); err != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("a second concurrent Run was accepted")
}
