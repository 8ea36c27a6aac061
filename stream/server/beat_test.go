package server

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestBeatClock: with the instance's one clock, a stream that writes at any moment is
// woken for its ping between half and one interval later — never later than the
// interval — and 1,000 streams that write in the same instant are woken in groups of
// at most 1,000/256 (one slot), not all at once as tickers started together would be.
func TestBeatClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval, streams = 15 * time.Second, 1000
		b := newBeat(interval)
		if len(b.slots) != maxBeatSlots {
			t.Fatalf("%d slots for %s, want %d", len(b.slots), interval, maxBeatSlots)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go b.run(ctx)
		time.Sleep(interval / 3) // streams start at an arbitrary moment of the clock

		var mu sync.Mutex
		var gaps []time.Duration
		woken := map[time.Duration]int{} // moment of a first ping → streams woken
		start := time.Now()
		var wg sync.WaitGroup
		for i := range streams {
			wg.Go(func() {
				slot := b.slot()
				rng := rand.New(rand.NewPCG(uint64(i), 1))
				first := true
				for range 20 {
					wrote := time.Now()
					ping := slot.wait()
					// Idle, or busy: a notification within the next 0–1.5 intervals.
					next := time.After(time.Duration(rng.Int64N(int64(interval * 3 / 2))))
					if i%2 == 0 {
						next = nil
					}
					select {
					case <-ping:
						mu.Lock()
						gaps = append(gaps, time.Since(wrote))
						if first && i%2 == 0 {
							woken[time.Since(start)]++
						}
						mu.Unlock()
					case <-next:
					}
					first = false
				}
			})
		}
		wg.Wait()
		slices.Sort(gaps)
		if lo, hi := gaps[0], gaps[len(gaps)-1]; lo < interval/2 || hi > interval {
			t.Errorf("ping %s to %s after the last write, want between %s and %s", lo, hi, interval/2, interval)
		}
		most := 0
		for _, n := range woken {
			most = max(most, n)
		}
		if limit := (streams + maxBeatSlots - 1) / maxBeatSlots; most > limit {
			t.Errorf("of %d idle streams that wrote together, %d pinged at once, want at most %d (one slot)", streams/2, most, limit)
		}
	})
}

// TestBeatSlots: the number of slots follows the interval, with ticks at least
// minBeatStep apart, and every slot's streams are pinged within one interval.
func TestBeatSlots(t *testing.T) {
	for interval, want := range map[time.Duration]int{
		15 * time.Second: maxBeatSlots, time.Second: 50, 100 * time.Millisecond: 5, time.Millisecond: 1,
	} {
		if got := len(newBeat(interval).slots); got != want {
			t.Errorf("%s: %d slots, want %d", interval, got, want)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		b := newBeat(time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go b.run(ctx)
		waits := make([]<-chan struct{}, len(b.slots))
		for i := range b.slots {
			waits[i] = b.slots[i].wait()
		}
		time.Sleep(time.Second + time.Millisecond)
		for i, w := range waits {
			select {
			case <-w:
			default:
				t.Fatalf("slot %d: no ping one interval after a write", i)
			}
		}
	})
}

// TestIdleStreamPingsWithinInterval: over several intervals an idle stream keeps
// pinging, and a ping follows a notification. The exact bound (one interval) is the
// beat's, checked on a fake clock by TestBeatClock and TestBeatSlots; on the wall clock of a
// busy machine a frame may come late, so a gap is a failure only past two intervals
// more — a heartbeat that stopped, not a slow scheduler.
func TestIdleStreamPingsWithinInterval(t *testing.T) {
	t.Parallel()
	const interval, slack = 300 * time.Millisecond, 600 * time.Millisecond
	e := newEnv(t, func(c *Config) { c.Heartbeat = interval })
	c := e.open("ivy", "", "")
	c.next() // the fresh stream's id-only frame
	last, pings := time.Now(), 0
	for time.Since(last) < 5*interval && pings < 5 {
		f := c.next()
		if gap := time.Since(last); gap > interval+slack {
			t.Fatalf("%s without a frame (%+v), want at most %s", gap, f, interval)
		}
		last = time.Now()
		if f.comment == "ping" {
			pings++
		}
	}
	if pings < 5 {
		t.Fatalf("%d pings, want 5", pings)
	}
	e.publish("ivy")
	c.events(1)
	sent := time.Now()
	if f := c.next(); f.comment != "ping" {
		t.Fatalf("after the notification: %+v, want a ping", f)
	} else if gap := time.Since(sent); gap > interval+slack {
		t.Fatalf("ping %s after the notification, want at most %s", gap, interval)
	}
}

// TestPingsSpreadAfterBurst: 200 streams that receive the same notification at once
// (one user's tabs here; a broadcast in general) ping over the following interval, not
// all in the same instant: a ticker per stream, reset on each write, kept them in step
// forever after (200 pings within a few milliseconds, every interval).
func TestPingsSpreadAfterBurst(t *testing.T) {
	t.Parallel()
	const streams, interval = 200, time.Second
	e := newEnv(t, func(c *Config) { c.Heartbeat = interval; c.MaxConnsPerUser = 2 * streams })
	clients := make([]*client, streams)
	for i := range clients {
		clients[i] = e.open("bea", "", "")
	}
	pinged := make([]time.Duration, streams)
	var wg sync.WaitGroup
	var start time.Time
	ready := make(chan struct{})
	for i, c := range clients {
		wg.Go(func() {
			<-ready
			c.events(1)
			for c.next().comment != "ping" {
			}
			pinged[i] = time.Since(start)
		})
	}
	start = time.Now()
	close(ready)
	e.publish("bea")
	wg.Wait()
	slices.Sort(pinged)
	t.Logf("pings %s to %s after the notification", pinged[0], pinged[streams-1])
	// Each stream pings within one interval of its write on the beat's clock
	// (TestBeatSlots); on a loaded machine's wall clock a ping may come late, so only a
	// stream silent past three intervals fails here.
	if pinged[streams-1] > 3*interval {
		t.Errorf("last ping %s after the notification, want within %s (one interval, on an idle machine)", pinged[streams-1], 3*interval)
	}
	// The middle 80 % of the pings: spread over the half interval the slots cover (a
	// ticker per stream put them within the few milliseconds of the fan-out). Read on
	// the client side, where a stalled test process bunches what it reads, so the bar
	// is a quarter of that.
	most := 0
	for i := range pinged {
		j, _ := slices.BinarySearch(pinged, pinged[i]+interval/20)
		most = max(most, j-i)
	}
	spread := pinged[streams*9/10] - pinged[streams/10]
	t.Logf("middle 80 %% of the pings within %s; at most %d within %s", spread, most, interval/20)
	if spread < interval/8 {
		t.Errorf("the middle 80 %% of %d pings came within %s, want spread over at least %s: the streams ping in step",
			streams, spread, interval/8)
	}
}
