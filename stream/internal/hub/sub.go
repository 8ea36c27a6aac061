package hub

import (
	"sync"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Sub is one connection's subscription. Its queue is a slice that exists only while
// something waits in it: an idle connection holds no queue memory (a buffered channel
// of the same bound cost 5 KiB per connection).
type Sub struct {
	hub     *Hub
	userID  string        // sources[0], the user's own log
	sources []string      // every log s receives
	ready   chan struct{} // holds a token while q is non-empty or the Sub was dropped
	gone    bool          // dropped or closed; guarded by hub.mu

	mu      sync.Mutex
	q       []Item
	qBytes  int64
	dropped bool
}

// Item is one entry of a subscriber's queue: a notification, a control message
// (Control.Kind set), or (Resync) a marker saying live delivery was interrupted at this
// point.
type Item struct {
	// Envelope is the notification; its ID is never empty. Zero for a marker or a
	// control message.
	notification.Envelope
	// Resync marks the point where live delivery was interrupted: the consumer must
	// replay its log from its last sent id before handling what follows.
	Resync bool
	// Control is a control message for the user (a read mark, a preference change):
	// no notification, no log position. Zero otherwise.
	Control broker.Control
}

// IsControl reports whether the item is a control message.
func (it Item) IsControl() bool { return it.Control.Kind != "" }

// Ready receives when there is something to Take.
func (s *Sub) Ready() <-chan struct{} { return s.ready }

// Take appends what is queued to dst, oldest first: the user's notifications and
// control messages, and resync markers (Item.Resync) in their place in the order — at a marker, live
// delivery was interrupted and the consumer must replay from its log before what
// follows. dropped reports that the hub dropped the subscriber for falling behind:
// after sending what was taken, the connection should end and the client resume from
// its last event ID.
func (s *Sub) Take(dst []Item) (out []Item, dropped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dst = append(dst, s.q...)
	clear(s.q)
	if cap(s.q) > 8 {
		s.q = nil // a burst's backing array is not kept for an idle connection
	} else {
		s.q = s.q[:0]
	}
	s.qBytes = 0
	return dst, s.dropped
}

// push queues it unless that would exceed a bound; it reports success. hub.mu held.
func (s *Sub) push(it Item, maxLen int, maxBytes int64) bool {
	size := int64(len(it.Data) + len(it.Control.Data))
	s.mu.Lock()
	ok := len(s.q) < maxLen && s.qBytes+size <= maxBytes
	if ok {
		s.q = append(s.q, it)
		s.qBytes += size
	}
	s.mu.Unlock()
	if ok {
		s.signal()
	}
	return ok
}

func (s *Sub) signal() {
	select {
	case s.ready <- struct{}{}:
	default: // a token is already waiting
	}
}

// Close ends the subscription; the user is unsubscribed after their last one closes.
// Safe to call more than once.
func (s *Sub) Close() {
	h := s.hub
	h.mu.Lock()
	last := h.remove(s)
	h.mu.Unlock()
	for _, source := range last {
		h.unsubscribe(source)
	}
}
