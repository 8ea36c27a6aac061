package notifier

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// summary aggregates what the handler did into one INFO line per interval: at 1,000
// events/s a line per notification is 1,000 log entries a second for operators to pay
// for and wade through, and its write a syscall per event. Refusals (ERROR, which the
// log-based metric counts), transient failures (ERROR) and cleaned fields (WARN) keep
// their own line per event; ordinary outcomes are counted here and written per event
// only at DEBUG.
//
// There is no timer goroutine: the first event after a window ends writes it (Cloud
// Run throttles an instance's CPU between requests anyway). So a window's line covers
// the events up to that one, its interval_s says how long the window really was, and
// after the last event of a quiet period nothing is written until the next one.
type summary struct {
	interval time.Duration
	// name is the line's message ("notify summary", "publish summary"); fanOut adds
	// the writes (one message may write to many logs: Publish).
	name   string
	fanOut bool

	// windowStart is the current window's start (unix nanos); the event that moves it
	// on by compare-and-swap is the one that writes the line, so exactly one does.
	windowStart atomic.Int64

	published, duplicates, cleaned, rejected, failed, writes atomic.Int64
	maxNanos                                                 atomic.Int64 // slowest store+publish
}

func (s *summary) start(now time.Time) { s.windowStart.Store(now.UnixNano()) }

// observe records one store+publish duration.
func (s *summary) observe(d time.Duration) {
	for {
		cur := s.maxNanos.Load()
		if int64(d) <= cur || s.maxNanos.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// maybeFlush writes the summary line when the window that began at windowStart has
// lasted interval by now. Counters are swapped to zero one by one, so an event counted
// concurrently lands in this line or the next, never in none.
func (s *summary) maybeFlush(log *slog.Logger, now time.Time) {
	begun := s.windowStart.Load()
	if now.UnixNano()-begun < int64(s.interval) || !s.windowStart.CompareAndSwap(begun, now.UnixNano()) {
		return
	}
	published, duplicates, cleaned := s.published.Swap(0), s.duplicates.Swap(0), s.cleaned.Swap(0)
	rejected, failed, writes, slowest := s.rejected.Swap(0), s.failed.Swap(0), s.writes.Swap(0), s.maxNanos.Swap(0)
	if published+duplicates+rejected+failed == 0 {
		return
	}
	attrs := []any{
		slog.Float64("interval_s", time.Duration(now.UnixNano()-begun).Seconds()),
		slog.Int64("published", published), // includes the cleaned ones
		slog.Int64("cleaned", cleaned),
		slog.Int64("duplicates", duplicates),
		slog.Int64("rejected", rejected),
		slog.Int64("failed", failed),
		slog.Float64("max_latency_ms", ms(time.Duration(slowest))),
	}
	if s.fanOut {
		attrs = append(attrs, slog.Int64("writes", writes)) // notifications stored, over every log
	}
	// No request context: the line is about the window, not the request that writes it.
	log.Info(s.name, attrs...)
}
