package release

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

var t0 = time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)

// fixedClock is a settable clock.
type fixedClock struct{ ms atomic.Int64 }

func (c *fixedClock) now() time.Time   { return time.UnixMilli(c.ms.Load()) }
func (c *fixedClock) set(t time.Time)  { c.ms.Store(t.UnixMilli()) }
func newClock(t time.Time) *fixedClock { c := &fixedClock{}; c.set(t); return c }
func memBroker(t *testing.T) *broker.Memory {
	m, err := broker.NewMemory(broker.DefaultLimits, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func schedule(t *testing.T, s broker.Schedule, n int, due time.Time, sources ...string) {
	t.Helper()
	for i := range n {
		it := broker.Scheduled{Key: broker.MessageKeyOf(fmt.Sprint("m-", i)), MessageID: fmt.Sprint("m-", i), Sources: sources,
			Notification: notification.Notification{Type: "deadline", Severity: notification.SeverityInfo, Title: fmt.Sprint("t", i),
				CreatedAt: notification.Timestamp{Time: due}}, DueAt: due}
		if err := s.Put(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
}

func count(t *testing.T, b *broker.Memory, source string) int {
	t.Helper()
	es, err := b.After(context.Background(), source, rediskey.Zero, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestReleaseOnTimeAndOnce: nothing is written before the items' time; at it, two
// releasers polling the same schedule at once write each item to each of its logs
// exactly once.
func TestReleaseOnTimeAndOnce(t *testing.T) {
	t.Parallel()
	sched, b, clk := broker.NewMemorySchedule(), memBroker(t), newClock(t0.Add(-time.Millisecond))
	schedule(t, sched, 250, t0, "u-1", broker.GroupSource("class-7b"))
	r1 := New(sched, b, Options{Now: clk.now, Batch: 30})
	r2 := New(sched, b, Options{Now: clk.now, Batch: 30})
	if n, err := r1.Poll(context.Background()); n != 0 || err != nil || count(t, b, "u-1") != 0 {
		t.Fatalf("before the time: claimed %d (%v), u-1 holds %d", n, err, count(t, b, "u-1"))
	}
	clk.set(t0)
	var wg sync.WaitGroup
	for _, r := range []*Releaser{r1, r2} {
		wg.Go(func() {
			for {
				if n, err := r.Poll(context.Background()); n == 0 || err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, src := range []string{"u-1", broker.GroupSource("class-7b")} {
		if n := count(t, b, src); n != 250 {
			t.Errorf("%s holds %d, want 250", src, n)
		}
	}
	if s1, s2 := r1.Stats(), r2.Stats(); s1.Released+s2.Released != 250 || s1.Duplicates+s2.Duplicates != 0 {
		t.Errorf("stats %+v %+v, want 250 released between them", s1, s2)
	}
}

// flaky fails its first n publishes, as Redis does when it goes away mid-release.
type flaky struct {
	broker.Publisher
	fails atomic.Int64
}

func (f *flaky) Publish(ctx context.Context, source, messageID string, n notification.Notification) (string, bool, error) {
	if f.fails.Add(-1) >= 0 {
		return "", false, errors.New("connection refused")
	}
	return f.Publisher.Publish(ctx, source, messageID, n)
}

// TestReleaseRetriedAfterTheLease: an item whose write failed half-way (one log
// written, one not) is not done; once its lease runs out another releaser claims it
// and completes it, and the log already written is not written twice.
func TestReleaseRetriedAfterTheLease(t *testing.T) {
	t.Parallel()
	sched, b, clk := broker.NewMemorySchedule(), memBroker(t), newClock(t0)
	schedule(t, sched, 1, t0, "u-1", "u-2")
	f := &flaky{Publisher: b}
	f.fails.Store(1)
	first := New(sched, f, Options{Now: clk.now, Concurrency: 1})
	first.Poll(context.Background())
	if got := count(t, b, "u-1") + count(t, b, "u-2"); got != 1 || first.Stats().Failed != 1 {
		t.Fatalf("after a half-failed release %d writes, stats %+v", got, first.Stats())
	}
	second := New(sched, b, Options{Now: clk.now})
	if n, _ := second.Poll(context.Background()); n != 0 {
		t.Fatalf("claimed %d within the lease", n)
	}
	clk.set(t0.Add(time.Second))
	second.Poll(context.Background())
	if count(t, b, "u-1") != 1 || count(t, b, "u-2") != 1 || second.Stats().Duplicates != 1 || second.Stats().Released != 1 {
		t.Fatalf("after the retry: u-1 %d, u-2 %d, stats %+v", count(t, b, "u-1"), count(t, b, "u-2"), second.Stats())
	}
	if n, _ := second.Poll(context.Background()); n != 0 {
		t.Errorf("claimed %d after done", n)
	}
}

// TestExpiredBeforeItsTimeIsDropped: an item whose expires_at passed is not written.
func TestExpiredBeforeItsTimeIsDropped(t *testing.T) {
	t.Parallel()
	sched, b, clk := broker.NewMemorySchedule(), memBroker(t), newClock(t0)
	it := broker.Scheduled{Key: "m:x", MessageID: "x", Sources: []string{"u-1"}, DueAt: t0.Add(-time.Hour),
		Notification: notification.Notification{Type: "deadline", Title: "T", ExpiresAt: &notification.Timestamp{Time: t0.Add(-time.Minute)}}}
	if err := sched.Put(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	r := New(sched, b, Options{Now: clk.now})
	r.Poll(context.Background())
	if count(t, b, "u-1") != 0 || r.Stats().Expired != 1 {
		t.Errorf("u-1 holds %d, stats %+v", count(t, b, "u-1"), r.Stats())
	}
}
