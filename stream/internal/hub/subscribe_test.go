package hub

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
)

func TestSubscribeFailure(t *testing.T) {
	t.Parallel()
	b := newCounting()
	b.fail = errors.New("redis down")
	h, _ := newHub(b, 4, 1<<20, nil)
	if _, err := h.Join(context.Background(), "u"); err == nil {
		t.Fatal("Join succeeded though Subscribe failed")
	}
	if u, s := h.Users(); u != 0 || s != 0 {
		t.Fatalf("failed join left %d users, %d subs", u, s)
	}
	b.mu.Lock()
	b.fail = nil
	b.mu.Unlock()
	if _, err := h.Join(context.Background(), "u"); err != nil {
		t.Fatalf("Join after recovery: %v", err)
	}
}

// TestChurnKeepsSubscription hammers join/leave of one user: whatever the interleaving,
// while a connection is open the user must be subscribed.
func TestChurnKeepsSubscription(t *testing.T) {
	t.Parallel()
	b := newCounting()
	h, _ := newHub(b, 4, 1<<20, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				s, err := h.Join(context.Background(), "u")
				if err != nil {
					t.Error(err)
					return
				}
				if !b.isSubbed("u") {
					t.Error("joined but not subscribed")
				}
				s.Close()
			}
		}()
	}
	wg.Wait()
	if b.isSubbed("u") {
		t.Fatal("subscribed after everyone left")
	}
}

func TestLastSubscriberDroppedUnsubscribes(t *testing.T) {
	t.Parallel()
	b := newCounting()
	h, _ := newHub(b, 1, 1<<20, nil)
	s, _ := h.Join(context.Background(), "u")
	h.Deliver("u", env("1-0"))
	h.Deliver("u", env("2-0"))
	deadline := time.Now().Add(2 * time.Second)
	for b.isSubbed("u") {
		if time.Now().After(deadline) {
			t.Fatal("still subscribed after the only subscriber was dropped")
		}
		time.Sleep(time.Millisecond)
	}
	s.Close()
}

// TestDeliverRefusesIDlessEnvelope: an envelope without an id is not queued. It used to
// be indistinguishable from the resync marker, so it made every connection of the user
// replay its whole log.
func TestDeliverRefusesIDlessEnvelope(t *testing.T) {
	t.Parallel()
	h, _ := newHub(newCounting(), 4, 1<<20, nil)
	s, _ := h.Join(context.Background(), "u")
	h.Deliver("u", notification.Envelope{Type: notification.VideoComplete, Data: []byte(`{}`)})
	h.Deliver("u", env("1-0"))
	got, _ := rd(t, s).next()
	if got.Resync || got.ID != "1-0" {
		t.Fatalf("took %+v first, want 1-0 (the id-less envelope refused)", got)
	}
	if more, _ := s.Take(nil); len(more) != 0 {
		t.Fatalf("queued %+v as well", more)
	}
}

// blockingBroker fails or holds Unsubscribe as a test needs.
type blockingBroker struct {
	*countingBroker
	unsubErr error
	release  chan struct{} // Unsubscribe waits for it when non-nil
	entered  chan struct{} // receives when Unsubscribe starts
}

func (b *blockingBroker) Unsubscribe(ctx context.Context, u string) error {
	if b.entered != nil {
		b.entered <- struct{}{}
	}
	if b.release != nil {
		<-b.release
	}
	if b.unsubErr != nil {
		return b.unsubErr
	}
	return b.countingBroker.Unsubscribe(ctx, u)
}

// TestUnsubscribeErrorIsLogged: a failed Unsubscribe is reported, not swallowed.
func TestUnsubscribeErrorIsLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	b := &blockingBroker{countingBroker: newCounting(), unsubErr: errors.New("connection reset")}
	h, _ := New(b, Options{QueueSize: 4, QueueBytes: 1 << 20, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	s, _ := h.Join(context.Background(), "u")
	s.Close()
	if out := logs.String(); !strings.Contains(out, "unsubscribe failed") || !strings.Contains(out, "connection reset") {
		t.Fatalf("unsubscribe error not logged: %q", out)
	}
}

// TestWaitJoinsBackgroundUnsubscribe: dropping a user's last subscriber unsubscribes on
// a goroutine of its own (the feed must not wait on Redis); Wait joins it, so the
// broker is not closed under it.
func TestWaitJoinsBackgroundUnsubscribe(t *testing.T) {
	t.Parallel()
	b := &blockingBroker{countingBroker: newCounting(), release: make(chan struct{}), entered: make(chan struct{}, 1)}
	h, _ := New(b, Options{QueueSize: 1, QueueBytes: 1 << 20})
	s, _ := h.Join(context.Background(), "u")
	h.Deliver("u", env("1-0"))
	h.Deliver("u", env("2-0")) // over the bound: dropped, unsubscribed in the background
	select {
	case <-b.entered:
	case <-time.After(2 * time.Second):
		t.Fatal("no background unsubscribe")
	}
	waited := make(chan struct{})
	go func() { h.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned while an unsubscribe was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(b.release)
	select {
	case <-waited:
	case <-time.After(2 * time.Second):
		t.Fatal("Wait did not return after the unsubscribe finished")
	}
	if b.isSubbed("u") {
		t.Fatal("still subscribed")
	}
	s.Close()
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
