// Package hub fans live notifications out to the connections of this process. It
// keeps the broker's subscriptions (broker.Feed) per log, however many connections
// read that log here: taken on the first and dropped after the last.
package hub

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

var _ broker.Sink = (*Hub)(nil)

// Options bound the queues and say where trouble is reported.
type Options struct {
	// QueueSize and QueueBytes bound each subscriber's queue, in notifications and in
	// bytes of their JSON; a subscriber that would exceed either is dropped.
	QueueSize  int
	QueueBytes int64
	// OnDrop, if set, is called each time a subscriber is dropped for falling behind.
	OnDrop func()
	// Log receives what the hub cannot return to anyone: failed unsubscribes and
	// notifications refused for lacking an id. Nil discards.
	Log *slog.Logger
}

// Hub tracks the local subscribers of each user. It implements broker.Sink.
type Hub struct {
	broker     broker.Feed
	queueSize  int
	queueBytes int64
	onDrop     func()
	log        *slog.Logger

	mu    sync.Mutex
	users map[string]*user

	// background counts the unsubscribes started off the feed's goroutine; Wait joins
	// them, so the broker is not closed under one.
	background sync.WaitGroup

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

// New returns a hub over b's live delivery.
func New(b broker.Feed, o Options) (*Hub, error) {
	if b == nil || o.QueueSize < 1 || o.QueueBytes < 1 {
		return nil, errors.New("hub.New: nil broker, or queue bounds < 1")
	}
	if o.OnDrop == nil {
		o.OnDrop = func() {}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Hub{broker: b, queueSize: o.QueueSize, queueBytes: o.QueueBytes, onDrop: o.OnDrop, log: o.Log,
		users: map[string]*user{}, seed: maphash.MakeSeed()}, nil
}

func (h *Hub) opLock(source string) *sync.Mutex {
	return &h.ops[maphash.String(h.seed, source)%uint64(len(h.ops))]
}

// Join subscribes a new connection to sources: its user's own log, and the group and
// broadcast logs it reads (broker's source names; the first is the user's). When it
// returns without error, every notification the broker receives for any of them from
// then on is queued on the one Sub, in the order the broker received them.
func (h *Hub) Join(ctx context.Context, sources ...string) (*Sub, error) {
	if len(sources) == 0 {
		return nil, errors.New("hub.Join: no source")
	}
	s := &Sub{hub: h, userID: sources[0], sources: sources, ready: make(chan struct{}, 1)}
	for _, source := range sources {
		if err := h.join(ctx, s, source); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// join adds s to source's subscribers, subscribing the broker when s is the first.
func (h *Hub) join(ctx context.Context, s *Sub, source string) error {
	h.mu.Lock()
	u := h.users[source]
	first := u == nil
	if first {
		u = &user{subs: map[*Sub]struct{}{}, ready: make(chan struct{})}
		h.users[source] = u
	}
	u.subs[s] = struct{}{}
	h.mu.Unlock()

	if first {
		op := h.opLock(source)
		op.Lock()
		u.err = h.broker.Subscribe(ctx, source)
		op.Unlock()
		close(u.ready)
	} else {
		select {
		case <-u.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return u.err
}

// unsubscribe drops source's broker subscription unless a connection has joined since
// its last one left: that newcomer's Subscribe, ordered by the same op lock, keeps it.
// A failure is logged, not retried: the subscription lapses when the broker replaces
// its connection, and until then Deliver ignores the log (broker.Feed.Unsubscribe).
func (h *Hub) unsubscribe(source string) {
	op := h.opLock(source)
	op.Lock()
	defer op.Unlock()
	h.mu.Lock()
	rejoined := h.users[source] != nil
	h.mu.Unlock()
	if rejoined {
		return
	}
	if err := h.broker.Unsubscribe(context.Background(), source); err != nil {
		h.log.Warn("unsubscribe failed; the subscription lapses with the broker's connection",
			logging.KeyUserID, source, logging.KeyError, err.Error())
	}
}

// Wait returns once the unsubscribes the hub started in the background (for
// subscribers it dropped) have finished. Call it when no more notifications arrive
// (the broker's Run has returned), before closing the broker.
func (h *Hub) Wait() { h.background.Wait() }

// remove detaches s from its sources; it returns those s was the last subscriber of.
// h.mu held.
func (h *Hub) remove(s *Sub) []string {
	if s.gone {
		return nil
	}
	s.gone = true
	var last []string
	for _, source := range s.sources {
		u := h.users[source]
		if u == nil {
			continue // Join failed before reaching it
		}
		delete(u.subs, s)
		if len(u.subs) == 0 {
			delete(h.users, source)
			last = append(last, source)
		}
	}
	return last
}

// Deliver queues e for every local subscriber of source. It never blocks: a subscriber
// whose queue is full, by count or by bytes, is dropped. An envelope without an id is
// refused: a client could not resume from it. Implements broker.Sink.
func (h *Hub) Deliver(source string, e notification.Envelope) {
	if e.ID == "" {
		h.log.Error("dropping a live notification without an id", logging.KeyUserID, source)
		return
	}
	h.queue(source, Item{Envelope: e})
}

// queue pushes it to every local subscriber of source, dropping those without room.
func (h *Hub) queue(source string, it Item) {
	var dropped []*Sub
	h.mu.Lock()
	if u := h.users[source]; u != nil {
		for s := range u.subs {
			if !s.push(it, h.queueSize, h.queueBytes) {
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

// Control queues c for every local subscriber of userID, in line with its
// notifications. Like Deliver it never blocks: a subscriber with no room is dropped.
// Implements broker.Sink.
func (h *Hub) Control(userID string, c broker.Control) {
	h.queue(userID, Item{Control: c})
}

// dropLocked marks and detaches subscribers that fell behind. h.mu must be held.
func (h *Hub) dropLocked(subs []*Sub) {
	for _, s := range subs {
		s.mu.Lock()
		s.dropped = true
		s.mu.Unlock()
		s.signal()
		if last := h.remove(s); len(last) > 0 {
			h.background.Go(func() { // the feed must not wait on Redis
				for _, source := range last {
					h.unsubscribe(source)
				}
			})
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
			if h.users[s.userID] != u {
				continue // s is listed under each of its sources: mark it once, under its user's
			}
			if !s.push(Item{Resync: true}, h.queueSize, h.queueBytes) {
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
