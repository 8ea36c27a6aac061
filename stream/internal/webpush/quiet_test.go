package webpush

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
)

// clock is a settable time for WorkerOptions.Now.
type clock struct{ ms atomic.Int64 }

func newClock(t testing.TB, rfc3339 string) *clock {
	c := &clock{}
	c.set(t, rfc3339)
	return c
}

func (c *clock) set(t testing.TB, rfc3339 string) {
	v, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	c.ms.Store(v.UnixMilli())
}

func (c *clock) now() time.Time { return time.UnixMilli(c.ms.Load()) }

// enqueueJSON queues a notification document of any shape.
func (e *env) enqueueJSON(user, doc string) {
	e.t.Helper()
	if _, err := Enqueue(context.Background(), e.rdb, e.queue, user, []byte(doc)); err != nil {
		e.t.Fatal(err)
	}
}

// startWorker runs another Worker on e's queue until the returned stop is called (or
// the test ends).
func (e *env) startWorker(now func() time.Time) (*Worker, func()) {
	w := e.newWorker(WorkerOptions{Queue: e.queue, Window: e.cfg.Window, TTL: e.cfg.TTL, Concurrency: 8,
		Tick: 20 * time.Millisecond, Block: 100 * time.Millisecond, Drain: 100 * time.Millisecond, Now: now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	stop := func() { cancel(); <-done }
	e.t.Cleanup(stop)
	return w, sync1(stop)
}

// sync1 makes stop safe to call twice (once by the test, once by Cleanup).
func sync1(f func()) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			f()
		}
	}
}

var berlinNights = broker.QuietHours{Start: "21:00", End: "07:00", TimeZone: "Europe/Berlin"}

// TestQuietHoursHoldAndSummariseOnce, on the two nights of 2026 when Berlin's clocks
// move: pushes during quiet hours are held (not sent), a mandatory one is not, a
// push-muted type is never pushed; when the window ends — 07:00 on the wall clock,
// which is 05:00Z after the spring change and 06:00Z after the autumn one — exactly
// one summary of the held pushes goes out, from one of two instances, although the
// instance that held them has stopped.
func TestQuietHoursHoldAndSummariseOnce(t *testing.T) {
	t.Parallel()
	for _, night := range []struct{ name, evening, before, end string }{
		{"spring forward", "2026-03-28T22:30:00Z", "2026-03-29T04:59:59Z", "2026-03-29T05:00:00Z"},
		{"fall back", "2026-10-24T22:30:00Z", "2026-10-25T05:59:59Z", "2026-10-25T06:00:00Z"},
	} {
		t.Run(night.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			clk := newClock(t, night.evening)
			e.users.prefs["u-q"] = PushPrefs{Quiet: &berlinNights, PushMuted: []string{"club_news"}}
			e.subscribe("u-q", "/sub/u-q")
			holder, stopHolder := e.startWorker(clk.now)
			for i := range 3 {
				e.enqueue("u-q", fmt.Sprintf("%d-0", i+1), "video_complete")
			}
			e.enqueueJSON("u-q", `{"id":"9-0","type":"club_news","title":"Chess club","created_at":"2026-10-24T22:30:00.000Z"}`)
			e.enqueueJSON("u-q", `{"id":"10-0","type":"exam_moved","severity":"warning","mandatory":true,`+
				`"title":"Exam moved to 8:00","created_at":"2026-10-24T22:30:00.000Z"}`)
			got, ok := e.ps.Next(5 * time.Second)
			if !ok {
				t.Fatal("the mandatory notification was not pushed during quiet hours")
			}
			var doc map[string]any
			if json.Unmarshal(got.Plain, &doc); doc["id"] != "10-0" {
				t.Fatalf("pushed during quiet hours: %s, want only the mandatory 10-0", got.Plain)
			}
			e.waitHandled(holder, 5)
			if s := holder.Stats(); s.QuietHeld != 3 || s.SkippedPrefs != 1 {
				t.Fatalf("stats %+v, want 3 held and 1 push-muted", s)
			}
			stopHolder()

			// Two other instances, one clock: a second before the end nothing is sent.
			clk.set(t, night.before)
			a, _ := e.startWorker(clk.now)
			b, _ := e.startWorker(clk.now)
			if got, ok := e.ps.Next(300 * time.Millisecond); ok {
				t.Fatalf("pushed before the window ended: %s", got.Plain)
			}
			clk.set(t, night.end)
			got, ok = e.ps.Next(5 * time.Second)
			if !ok {
				t.Fatal("no summary when the quiet hours ended")
			}
			var sum struct {
				Type  string `json:"type"`
				Count int    `json:"count"`
				ID    string `json:"id"`
			}
			if err := json.Unmarshal(got.Plain, &sum); err != nil || sum.Type != SummaryType || sum.Count != 3 || sum.ID != "3-0" {
				t.Fatalf("summary %s, want a summary of 3 ending at 3-0", got.Plain)
			}
			if extra, ok := e.ps.Next(500 * time.Millisecond); ok {
				t.Fatalf("a second push after the summary: %s", extra.Plain)
			}
			if n := a.Stats().QuietSummary + b.Stats().QuietSummary; n != 1 {
				t.Errorf("%d summaries sent by the two instances, want 1", n)
			}
			ctx := context.Background()
			if n, _ := e.rdb.Exists(ctx, e.worker.opts.Names.QuietHeld("u-q")).Result(); n != 0 {
				t.Error("held pushes are still stored after the summary")
			}
			if n, _ := e.rdb.ZCard(ctx, e.worker.opts.Names.QuietDue()).Result(); n != 0 {
				t.Errorf("due set holds %d users after the summary", n)
			}
		})
	}
}

// TestQuietHoursHoldIsIdempotent: an entry handled twice (reclaimed after its first
// handler died between holding and acknowledging) counts once.
func TestQuietHoursHoldIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	now := time.Date(2026, 1, 10, 22, 0, 0, 0, time.UTC)
	end := now.Add(7 * time.Hour)
	for range 2 {
		if err := e.worker.hold(context.Background(), "u-h", "5-0", now, end); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := e.rdb.HGet(context.Background(), e.worker.opts.Names.QuietHeld("u-h"), "n").Int(); n != 1 {
		t.Errorf("held count %d after holding one id twice, want 1", n)
	}
	if s, _ := e.rdb.ZScore(context.Background(), e.worker.opts.Names.QuietDue(), "u-h").Result(); int64(s) != end.UnixMilli() {
		t.Errorf("due at %v, want %d", s, end.UnixMilli())
	}
}
