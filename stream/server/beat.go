package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// beat is the instance's heartbeat clock: one timer for every stream instead of a
// ticker per stream.
//
// Streams are dealt round robin to slots. The clock's one ticker fires every step (half
// an interval ÷ the number of slots) and ticks the next slot, so each slot ticks every
// half interval, the slots one step apart: the pings of 10,000 idle streams are spread
// evenly over the interval instead of written in one burst.
//
// A stream that writes between its slot's ticks g and g+1 waits for tick g+2
// (beatSlot.wait, asked before the write): its ping comes between half and one interval
// after its last write, never later — the contract's comment line at least every
// HEARTBEAT_INTERVAL — and an idle stream pings once per interval, as it did with a
// ticker of its own. A stream that keeps writing is never woken by the clock.
type beat struct {
	step  time.Duration // between two ticks of the clock
	slots []beatSlot
	dealt atomic.Uint64 // streams given a slot
}

// beatSlot is a group of streams that ping at the same moments.
type beatSlot struct {
	mu  sync.Mutex
	due [2]chan struct{} // due[0] is closed at the slot's next tick, due[1] at the one after
}

const (
	maxBeatSlots = 256                   // at 15 s: a tick every 29 ms, 1/256 of the streams each
	minBeatStep  = 10 * time.Millisecond // fewer slots for short intervals (tests)
)

// newBeat returns a stopped clock for heartbeats every interval; run drives it.
func newBeat(interval time.Duration) *beat {
	half := max(interval/2, time.Millisecond)
	n := max(1, min(maxBeatSlots, int(half/minBeatStep)))
	b := &beat{step: half / time.Duration(n), slots: make([]beatSlot, n)}
	for i := range b.slots {
		b.slots[i].due = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	}
	return b
}

// slot deals a new stream its slot.
func (b *beat) slot() *beatSlot {
	return &b.slots[(b.dealt.Add(1)-1)%uint64(len(b.slots))]
}

// wait returns the channel to wait on for a stream that writes now: it is closed at the
// slot's second tick from now. Ask before writing: a tick between the question and the
// write makes the ping early, never late.
func (s *beatSlot) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.due[1]
}

// tick wakes the streams whose ping is due.
func (s *beatSlot) tick() {
	s.mu.Lock()
	now := s.due[0]
	s.due[0], s.due[1] = s.due[1], make(chan struct{})
	s.mu.Unlock()
	close(now)
}

// run ticks the slots in turn until ctx ends. A tick the ticker skipped (the process
// was descheduled) is made up at once, so no slot goes more than half an interval
// without one; after a longer stall each slot ticks at most twice.
func (b *beat) run(ctx context.Context) {
	t := time.NewTicker(b.step)
	defer t.Stop()
	start := time.Now()
	var ticks int64
	n := int64(len(b.slots))
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			due := int64(now.Sub(start) / b.step)
			ticks = max(ticks, due-2*n)
			for ; ticks < due; ticks++ {
				b.slots[ticks%n].tick()
			}
		}
	}
}

// stopped is the clock of streams served outside Serve: it never ticks.
var stopped = newBeat(time.Hour)

// heartbeats returns the clock s's streams ping by.
func (s *Server) heartbeats() *beat {
	if b := s.beat.Load(); b != nil {
		return b
	}
	return stopped
}
