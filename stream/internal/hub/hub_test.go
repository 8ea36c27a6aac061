package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// countingBroker records the live subscription state the hub asks for.
type countingBroker struct {
	broker.Feed // nil: the hub calls only Subscribe and Unsubscribe
	mu          sync.Mutex
	subbed      map[string]bool
	calls       int
	fail        error
}

func newCounting() *countingBroker { return &countingBroker{subbed: map[string]bool{}} }

func (b *countingBroker) Subscribe(_ context.Context, u string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.fail != nil {
		return b.fail
	}
	b.subbed[u] = true
	return nil
}

func (b *countingBroker) Unsubscribe(_ context.Context, u string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	delete(b.subbed, u)
	return nil
}

func (b *countingBroker) isSubbed(u string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subbed[u]
}

// newHub is New with positional bounds, for brevity.
func newHub(b broker.Feed, size int, bytes int64, onDrop func()) (*Hub, error) {
	return New(b, Options{QueueSize: size, QueueBytes: bytes, OnDrop: onDrop})
}

func env(id string) notification.Envelope {
	return notification.Envelope{ID: id, Type: notification.VideoComplete, Data: []byte(`{"id":"` + id + `"}`)}
}

// reader takes from a Sub one envelope at a time.
type reader struct {
	t       *testing.T
	s       *Sub
	buf     []Item
	dropped bool
}

func rd(t *testing.T, s *Sub) *reader { return &reader{t: t, s: s} }

// next returns the next envelope; ok is false once the Sub was dropped and drained.
func (r *reader) next() (e Item, ok bool) {
	r.t.Helper()
	for len(r.buf) == 0 {
		if r.dropped {
			return e, false
		}
		select {
		case <-r.s.Ready():
		case <-time.After(2 * time.Second):
			r.t.Fatal("nothing to take")
		}
		r.buf, r.dropped = r.s.Take(r.buf)
	}
	e = r.buf[0]
	r.buf = r.buf[1:]
	return e, true
}

// count takes until the Sub is dropped and reports how many it took.
func (r *reader) count() int {
	n := 0
	for {
		if _, ok := r.next(); !ok {
			return n
		}
		n++
	}
}

func TestIdleSubHoldsNoQueue(t *testing.T) {
	t.Parallel()
	h, _ := newHub(newCounting(), 64, 1<<20, nil)
	s, _ := h.Join(context.Background(), "u")
	for range 20 {
		h.Deliver("u", env("1-0"))
	}
	if got, _ := s.Take(nil); len(got) != 20 {
		t.Fatalf("took %d, want 20", len(got))
	}
	if s.q != nil {
		t.Errorf("after a burst the Sub keeps a queue of capacity %d", cap(s.q))
	}
}

func TestFanOutAndRefCount(t *testing.T) {
	t.Parallel()
	b := newCounting()
	h, _ := newHub(b, 8, 1<<20, nil)
	ctx := context.Background()
	a1, _ := h.Join(ctx, "alice")
	a2, _ := h.Join(ctx, "alice")
	bob, _ := h.Join(ctx, "bob")
	if b.calls != 2 {
		t.Fatalf("broker calls = %d, want one Subscribe per user", b.calls)
	}
	h.Deliver("alice", env("1-0"))
	for _, s := range []*Sub{a1, a2} {
		if got, _ := rd(t, s).next(); got.ID != "1-0" {
			t.Errorf("got %v", got)
		}
	}
	select {
	case <-bob.Ready():
		t.Fatalf("bob was given alice's notification")
	default:
	}
	a1.Close()
	a1.Close() // idempotent
	if !b.isSubbed("alice") {
		t.Fatal("alice unsubscribed while a connection remains")
	}
	a2.Close()
	if b.isSubbed("alice") {
		t.Fatal("alice still subscribed after her last connection left")
	}
	if u, s := h.Users(); u != 1 || s != 1 {
		t.Errorf("Users() = %d, %d; want 1, 1", u, s)
	}
}

func TestSlowSubscriberIsDroppedNotWaitedOn(t *testing.T) {
	t.Parallel()
	b := newCounting()
	drops := 0
	h, _ := newHub(b, 2, 1<<20, func() { drops++ })
	ctx := context.Background()
	slow, _ := h.Join(ctx, "u")
	fast, _ := h.Join(ctx, "u")
	fr := rd(t, fast)
	for i := range 3 {
		h.Deliver("u", env(fmt.Sprint(i+1, "-0")))
		fr.next()
	}
	if got := rd(t, slow).count(); got != 2 || drops != 1 { // dropped after the two it could hold
		t.Fatalf("slow got %d then dropped, drops %d; want 2, 1", got, drops)
	}
	h.Deliver("u", env("4-0"))
	if e, _ := fr.next(); e.ID != "4-0" {
		t.Fatalf("fast got %v", e)
	}
	slow.Close() // after a drop: harmless
	if !b.isSubbed("u") {
		t.Fatal("dropping one subscriber unsubscribed the user")
	}
}

func TestQueueBoundedByBytes(t *testing.T) {
	t.Parallel()
	h, _ := newHub(newCounting(), 100, 50, nil)
	s, _ := h.Join(context.Background(), "u")
	big := notification.Envelope{ID: "1-0", Data: make([]byte, 30)}
	r := rd(t, s)
	h.Deliver("u", big)
	r.next() // taken: the space is free again
	h.Deliver("u", big)
	h.Deliver("u", big) // 60 bytes queued > 50: dropped
	if n := r.count(); n != 1 {
		t.Fatalf("received %d before the drop, want 1", n)
	}
}

func TestResyncIsInBand(t *testing.T) {
	t.Parallel()
	h, _ := newHub(newCounting(), 4, 1<<20, nil)
	a, _ := h.Join(context.Background(), "a")
	b, _ := h.Join(context.Background(), "b")
	h.Deliver("a", env("1-0"))
	h.Resync()
	h.Deliver("a", env("2-0"))
	ar := rd(t, a)
	if e, _ := ar.next(); e.ID != "1-0" {
		t.Fatalf("got %v first", e)
	}
	if e, _ := ar.next(); !e.Resync {
		t.Fatalf("got %v, want the resync marker between 1-0 and 2-0", e)
	}
	if e, _ := ar.next(); e.ID != "2-0" {
		t.Fatalf("got %v after the marker", e)
	}
	if e, _ := rd(t, b).next(); !e.Resync {
		t.Fatalf("b got %v, want a marker", e)
	}
	// A subscriber with no room for the marker is dropped (it will reconnect and replay).
	full, _ := newHub(newCounting(), 1, 1<<20, nil)
	s, _ := full.Join(context.Background(), "u")
	full.Deliver("u", env("1-0"))
	full.Resync()
	if n := rd(t, s).count(); n != 1 {
		t.Fatalf("full subscriber got %d then should be closed", n)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	if _, err := newHub(nil, 1, 1, nil); err == nil {
		t.Fatal("nil broker accepted")
	}
	if _, err := newHub(newCounting(), 0, 1, nil); err == nil {
		t.Fatal("zero queue accepted")
	}
}

func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprint(n, "subs"), func(b *testing.B) {
			h, _ := newHub(newCounting(), 1024, 1<<30, nil)
			subs := make([]*Sub, n)
			for i := range subs {
				subs[i], _ = h.Join(context.Background(), "u")
			}
			e := env("1-0")
			var buf []Item
			b.ReportAllocs()
			for b.Loop() {
				h.Deliver("u", e)
				for _, s := range subs {
					<-s.Ready()
					buf, _ = s.Take(buf[:0])
				}
			}
		})
	}
}
