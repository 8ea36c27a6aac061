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
	broker    Broker
	queueSize int
	onDrop    func()

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
	resync chan struct{}
	gone   bool // dropped or closed; guarded by hub.mu
}

// New returns a hub over b. Each subscriber queues at most queueSize notifications;
// onDrop (may be nil) is called when a subscriber is dropped for falling behind.
func New(b Broker, queueSize int, onDrop func()) (*Hub, error) {
	if b == nil || queueSize < 1 {
		return nil, errors.New("hub.New: nil broker or queue size < 1")
	}
	if onDrop == nil {
		onDrop = func() {}
	}
	return &Hub{broker: b, queueSize: queueSize, onDrop: onDrop, users: map[string]*user{}, seed: maphash.MakeSeed()}, nil
}

func (h *Hub) opLock(userID string) *sync.Mutex {
	return &h.ops[maphash.String(h.seed, userID)%uint64(len(h.ops))]
}

// Join subscribes a new connection of userID. When it returns without error, every
// notification the broker receives for userID from then on is queued on the Sub.
func (h *Hub) Join(ctx context.Context, userID string) (*Sub, error) {
	s := &Sub{hub: h, userID: userID, c: make(chan notification.Envelope, h.queueSize), resync: make(chan struct{}, 1)}
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

// C delivers the user's notifications. It is closed when the hub drops the subscriber
// for falling behind (its queue was full): the connection should end, and the client
// resume from its last event ID.
func (s *Sub) C() <-chan notification.Envelope { return s.c }

// Resync receives a value when live delivery was interrupted: the subscriber must
// replay from its log what it may have missed.
func (s *Sub) Resync() <-chan struct{} { return s.resync }

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
// whose queue is full is dropped (its channel closed). Implements broker.Sink.
func (h *Hub) Deliver(userID string, e notification.Envelope) {
	var dropped []*Sub
	h.mu.Lock()
	if u := h.users[userID]; u != nil {
		for s := range u.subs {
			select {
			case s.c <- e:
			default:
				dropped = append(dropped, s)
			}
		}
	}
	for _, s := range dropped {
		close(s.c)
		if h.remove(s) {
			go h.unsubscribe(userID) // Deliver must not wait on Redis
		}
	}
	h.mu.Unlock()
	for range dropped {
		h.onDrop()
	}
}

// Resync tells every subscriber to replay from its log. Implements broker.Sink.
func (h *Hub) Resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.users {
		for s := range u.subs {
			select {
			case s.resync <- struct{}{}:
			default: // one pending resync covers any number
			}
		}
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
