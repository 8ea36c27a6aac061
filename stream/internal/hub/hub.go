// Package hub fans live notifications out to the connections of this process. It owns
// the contract of the broker that feeds it: one subscription per user, however many
// connections that user has here, taken on the first and dropped after the last.
package hub

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"

	"github.com/vividly-edu/notifications/shared/notification"
)

// Broker moves notifications between processes. Safe for concurrent use.
type Broker interface {
	// Subscribe returns once live delivery for userID has started.
	Subscribe(ctx context.Context, userID string) error
	Unsubscribe(ctx context.Context, userID string) error
}

// Hub tracks the local subscribers of each user. It implements broker.Sink.
type Hub struct {
	broker     Broker
	queueSize  int
	queueBytes int64
	onDrop     func()

	mu    sync.Mutex
	users map[string]*user

	// ops orders the Subscribe/Unsubscribe calls of each user (striped by user): an
	// UNSUBSCRIBE sent after the last connection left must never overtake the SUBSCRIBE
	// of a connection that arrived since.
	ops  [64]sync.Mutex
	seed maphash.Seed
}

type user struct {
	subs  map[*Sub]struct{}
	ready chan struct{} // closed when the first Subscribe returned
	err   error         // its result, readable after ready is closed
}

// Sub is one connection's subscription. Its queue is a slice that exists only while
// something waits in it: an idle connection holds no queue memory (a buffered channel
// of the same bound cost 5 KiB per connection).
type Sub struct {
	hub    *Hub
	userID string
	ready  chan struct{} // holds a token while q is non-empty or the Sub was dropped
	gone   bool          // dropped or closed; guarded by hub.mu

	mu      sync.Mutex
	q       []notification.Envelope
	qBytes  int64
	dropped bool
}

// New returns a hub over b. Each subscriber queues at most queueSize notifications and
// queueBytes bytes of them; onDrop (may be nil) is called when a subscriber is dropped
// for exceeding either.
func New(b Broker, queueSize int, queueBytes int64, onDrop func()) (*Hub, error) {
	if b == nil || queueSize < 1 || queueBytes < 1 {
		return nil, errors.New("hub.New: nil broker, or queue bounds < 1")
	}
	if onDrop == nil {
		onDrop = func() {}
	}
	return &Hub{broker: b, queueSize: queueSize, queueBytes: queueBytes, onDrop: onDrop,
		users: map[string]*user{}, seed: maphash.MakeSeed()}, nil
}

func (h *Hub) opLock(userID string) *sync.Mutex {
	return &h.ops[maphash.String(h.seed, userID)%uint64(len(h.ops))]
}

// Join subscribes a new connection of userID. When it returns without error, every
// notification the broker receives for userID from then on is queued on the Sub.
func (h *Hub) Join(ctx context.Context, userID string) (*Sub, error) {
	s := &Sub{hub: h, userID: userID, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	u := h.users[userID]
	first := u == nil
	if first {
		u = &user{subs: map[*Sub]struct{}{}, ready: make(chan struct{})}
		h.users[userID] = u
	}
	u.subs[s] = struct{}{}
	h.mu.Unlock()

	if first {
		op := h.opLock(userID)
		op.Lock()
		u.err = h.broker.Subscribe(ctx, userID)
		op.Unlock()
		close(u.ready)
	} else {
		select {
		case <-u.ready:
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		}
	}
	if u.err != nil {
		s.Close()
		return nil, u.err
	}
	return s, nil
}

// Ready receives when there is something to Take.
func (s *Sub) Ready() <-chan struct{} { return s.ready }

// Take appends what is queued to dst, oldest first: the user's notifications, and
// resync markers (IsResync) in their place in the order — at a marker, live delivery
// was interrupted and the consumer must replay from its log before what follows.
// dropped reports that the hub dropped the subscriber for falling behind: after
// sending what was taken, the connection should end and the client resume from its
// last event ID.
func (s *Sub) Take(dst []notification.Envelope) (out []notification.Envelope, dropped bool) {
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

// IsResync reports whether e is a resync marker rather than a notification.
func IsResync(e notification.Envelope) bool { return e.ID == "" }

// push queues e unless that would exceed a bound; it reports success. hub.mu held.
func (s *Sub) push(e notification.Envelope, maxLen int, maxBytes int64) bool {
	size := int64(len(e.Data))
	s.mu.Lock()
	ok := len(s.q) < maxLen && s.qBytes+size <= maxBytes
	if ok {
		s.q = append(s.q, e)
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
	if last {
		h.unsubscribe(s.userID)
	}
}

// unsubscribe drops userID's broker subscription unless a connection has joined since
// its last one left: that newcomer's Subscribe, ordered by the same op lock, keeps it.
func (h *Hub) unsubscribe(userID string) {
	op := h.opLock(userID)
	op.Lock()
	defer op.Unlock()
	h.mu.Lock()
	rejoined := h.users[userID] != nil
	h.mu.Unlock()
	if !rejoined {
		_ = h.broker.Unsubscribe(context.Background(), userID)
	}
}

// remove detaches s; it reports whether s was its user's last subscriber. h.mu held.
func (h *Hub) remove(s *Sub) bool {
	if s.gone {
		return false
	}
	s.gone = true
	u := h.users[s.userID]
	delete(u.subs, s)
	if len(u.subs) > 0 {
		return false
	}
	delete(h.users, s.userID)
	return true
}

// Deliver queues e for every local subscriber of userID. It never blocks: a subscriber
// whose queue is full, by count or by bytes, is dropped. Implements broker.Sink.
func (h *Hub) Deliver(userID string, e notification.Envelope) {
	var dropped []*Sub
	h.mu.Lock()
	if u := h.users[userID]; u != nil {
		for s := range u.subs {
			if !s.push(e, h.queueSize, h.queueBytes) {
				dropped = append(dropped, s)
			}
		}
	}
	h.dropLocked(dropped)
	h.mu.Unlock()
	for range dropped {
		h.onDrop()
	}
}

// dropLocked marks and detaches subscribers that fell behind. h.mu must be held.
func (h *Hub) dropLocked(subs []*Sub) {
	for _, s := range subs {
		s.mu.Lock()
		s.dropped = true
		s.mu.Unlock()
		s.signal()
		if h.remove(s) {
			go h.unsubscribe(s.userID) // the feed must not wait on Redis
		}
	}
}

// Resync queues a resync marker for every subscriber, in line with notifications: it
// must be handled before anything delivered after it. A subscriber with no room is
// dropped (it reconnects and replays anyway). Implements broker.Sink.
func (h *Hub) Resync() {
	var dropped []*Sub
	h.mu.Lock()
	for _, u := range h.users {
		for s := range u.subs {
			if !s.push(notification.Envelope{}, h.queueSize, h.queueBytes) {
				dropped = append(dropped, s)
			}
		}
	}
	h.dropLocked(dropped)
	h.mu.Unlock()
	for range dropped {
		h.onDrop()
	}
}

// Users returns how many users and subscribers this hub holds.
func (h *Hub) Users() (users, subs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.users {
		subs += len(u.subs)
	}
	return len(h.users), subs
}
