package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/shared/broker"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestSummaryLine: ordinary outcomes are one INFO line per interval with counts, not a
// line per event; refusals keep their ERROR line; each event is at DEBUG when asked.
func TestSummaryLine(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			mem, err := broker.NewMemory(broker.DefaultLimits, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			c := &clock{t: now}
			var logs bytes.Buffer
			h, err := New(mem, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level})),
				NewMetrics(prometheus.NewRegistry()), c.now, 0, WithSummaryInterval(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := range 3 {
				if err := h.Handle(ctx, pubsubEvent(t, fmt.Sprint("m-", i), completed, now)); err != nil {
					t.Fatal(err)
				}
			}
			_ = h.Handle(ctx, pubsubEvent(t, "bad", `{nope`, now))
			c.add(10 * time.Second)
			if err := h.Handle(ctx, pubsubEvent(t, "m-0", completed, now)); err != nil { // a duplicate
				t.Fatal(err)
			}
			var info, debug, errs int
			var sum map[string]any
			for _, l := range logLines(t, &logs) {
				switch l["level"] {
				case "INFO":
					info++
					sum = l
				case "DEBUG":
					debug++
				case "ERROR":
					errs++
				}
			}
			if info != 1 || sum["msg"] != "notify summary" {
				t.Fatalf("%d INFO lines, want the one summary: %s", info, &logs)
			}
			for k, want := range map[string]float64{"published": 3, "duplicates": 1, "rejected": 1, "failed": 0, "cleaned": 0, "interval_s": 10} {
				if sum[k] != want {
					t.Errorf("summary %s = %v, want %v", k, sum[k], want)
				}
			}
			if errs != 1 {
				t.Errorf("%d ERROR lines, want the refusal's", errs)
			}
			if wantDebug := map[slog.Level]int{slog.LevelInfo: 0, slog.LevelDebug: 4}[level]; debug != wantDebug {
				t.Errorf("%d DEBUG lines, want %d", debug, wantDebug)
			}
			// Nothing happened in the next window: no line for it.
			logs.Reset()
			c.add(time.Minute)
			h.sum.maybeFlush(h.log, c.now())
			if logs.Len() != 0 {
				t.Errorf("empty window logged: %s", &logs)
			}
		})
	}
}

// TestSummaryConcurrent: under concurrent events each is counted in exactly one line.
func TestSummaryConcurrent(t *testing.T) {
	t.Parallel()
	mem, err := broker.NewMemory(broker.DefaultLimits, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: now}
	var mu sync.Mutex
	var logs bytes.Buffer
	h, err := New(mem, slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil)),
		NewMetrics(prometheus.NewRegistry()), c.now, 0, WithSummaryInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c.add(100 * time.Microsecond)
				if err := h.Handle(context.Background(), pubsubEvent(t, fmt.Sprintf("m-%d-%d", w, i), completed, now)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	c.add(time.Second)
	h.sum.maybeFlush(h.log, c.now())
	total := 0.0
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logLines(t, &logs) {
		total += l["published"].(float64)
	}
	if total != workers*each {
		t.Errorf("summaries count %v published, want %d", total, workers*each)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestSummaryIntervalMustBePositive(t *testing.T) {
	t.Parallel()
	mem, _ := broker.NewMemory(broker.DefaultLimits, time.Now)
	if _, err := New(mem, slog.Default(), NewMetrics(prometheus.NewRegistry()), time.Now, 0, WithSummaryInterval(0)); err == nil {
		t.Fatal("zero interval accepted")
	}
}
