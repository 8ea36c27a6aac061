package hub

import (
	"context"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
)

// TestControlIsInLineAndPerUser: a control message reaches every subscriber of its
// user, in order with notifications, and no one else; it counts against the queue's
// bounds like a notification.
func TestControlIsInLineAndPerUser(t *testing.T) {
	t.Parallel()
	h, _ := newHub(newCounting(), 3, 1<<20, nil)
	a1, _ := h.Join(context.Background(), "a")
	a2, _ := h.Join(context.Background(), "a")
	b, _ := h.Join(context.Background(), "b")
	read := broker.Control{Kind: broker.ControlRead, Data: []byte(`{"all":true}`)}
	h.Deliver("a", env("1-0"))
	h.Control("a", read)
	h.Deliver("a", env("2-0"))
	h.Control("nobody", read) // no subscriber: ignored
	for _, s := range []*Sub{a1, a2} {
		r := rd(t, s)
		if e, _ := r.next(); e.ID != "1-0" || e.IsControl() {
			t.Fatalf("got %+v first", e)
		}
		if e, _ := r.next(); !e.IsControl() || e.ID != "" || e.Resync || string(e.Control.Data) != `{"all":true}` {
			t.Fatalf("got %+v, want the read control between 1-0 and 2-0", e)
		}
		if e, _ := r.next(); e.ID != "2-0" {
			t.Fatalf("got %+v after the control", e)
		}
	}
	h.Deliver("b", env("3-0"))
	if e, _ := rd(t, b).next(); e.ID != "3-0" {
		t.Fatalf("b got %+v, want only its notification", e)
	}
	// Bounded like notifications: a fourth item in a queue of 3 drops the subscriber.
	full, _ := newHub(newCounting(), 3, 1<<20, nil)
	s, _ := full.Join(context.Background(), "u")
	for range 4 {
		full.Control("u", read)
	}
	if n := rd(t, s).count(); n != 3 {
		t.Fatalf("full subscriber got %d then should be closed", n)
	}
}
