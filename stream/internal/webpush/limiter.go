package webpush

import (
	"context"
	"sync"
)

// limiter bounds requests to push services: at most total in flight, and at most
// perOrigin to any one origin, so a push service that hangs (or an endpoint that is a
// tarpit: endpoints come from browsers) can hold only part of the slots and pushes to
// other services go on. A request first waits for its origin, then for a global slot,
// so requests queued behind a stuck origin hold no global slot.
type limiter struct {
	total     chan struct{}
	perOrigin int

	mu      sync.Mutex
	origins map[string]*originSlots // only origins with requests waiting or in flight
}

type originSlots struct {
	slots chan struct{}
	refs  int
}

func newLimiter(total, perOrigin int) *limiter {
	return &limiter{total: make(chan struct{}, total), perOrigin: perOrigin, origins: map[string]*originSlots{}}
}

// acquire waits for a slot for origin; on success the caller must release(origin).
func (l *limiter) acquire(ctx context.Context, origin string) error {
	l.mu.Lock()
	o := l.origins[origin]
	if o == nil {
		o = &originSlots{slots: make(chan struct{}, l.perOrigin)}
		l.origins[origin] = o
	}
	o.refs++
	l.mu.Unlock()
	select {
	case o.slots <- struct{}{}:
	case <-ctx.Done():
		l.unref(origin, o)
		return ctx.Err()
	}
	select {
	case l.total <- struct{}{}:
		return nil
	case <-ctx.Done():
		<-o.slots
		l.unref(origin, o)
		return ctx.Err()
	}
}

func (l *limiter) release(origin string) {
	<-l.total
	l.mu.Lock()
	o := l.origins[origin]
	l.mu.Unlock()
	<-o.slots
	l.unref(origin, o)
}

func (l *limiter) unref(origin string, o *originSlots) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if o.refs--; o.refs == 0 {
		delete(l.origins, origin)
	}
}
