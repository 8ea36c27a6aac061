// Package hub fans live notifications out to the connections of this process. It owns
// the contract of the broker that feeds it: one subscription per user, however many
// connections that user has here, taken on the first and dropped after the last.
package hub

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"

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

// Sub is one connection's subscription.
type Sub struct {
	hub    *Hub
	userID string
	c      chan notification.Envelope
	gone   bool         // dropped or closed; guarded by hub.mu
	queued atomic.Int64 // bytes delivered to c and not yet Released
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
	s := &Sub{hub: h, userID: userID, c: make(chan notification.Envelope, h.queueSize)}
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

// C delivers the user's notifications, and resync markers (IsResync) in their place
// in the order: at a marker, live delivery was interrupted and the consumer must replay
// from its log before taking what follows. C is closed when the hub drops the
// subscriber for falling behind: the connection should end, and the client resume from
// its last event ID.
func (s *Sub) C() <-chan notification.Envelope { return s.c }

// IsResync reports whether e is a resync marker rather than a notification.
func IsResync(e notification.Envelope) bool { return e.ID == "" }

// Release says the consumer has written n bytes taken from C, freeing queue space.
func (s *Sub) Release(n int) { s.queued.Add(-int64(n)) }

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
// whose queue is full, by count or by bytes, is dropped (its channel closed).
// Implements broker.Sink.
func (h *Hub) Deliver(userID string, e notification.Envelope) {
	var dropped []*Sub
	h.mu.Lock()
	if u := h.users[userID]; u != nil {
		size := int64(len(e.Data))
		for s := range u.subs {
			if s.queued.Load()+size > h.queueBytes {
				dropped = append(dropped, s)
				continue
			}
			select {
			case s.c <- e:
				s.queued.Add(size)
			default:
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

// dropLocked closes and detaches subscribers that fell behind. h.mu must be held.
func (h *Hub) dropLocked(subs []*Sub) {
	for _, s := range subs {
		close(s.c)
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
			select {
			case s.c <- notification.Envelope{}:
			default:
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
