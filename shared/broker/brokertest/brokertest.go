// Package brokertest is the contract every broker implementation passes: the same
// suite runs against broker.Memory and the Redis broker.
package brokertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Broker is the full surface under test: the function's side and the stream's side.
type Broker interface {
	Publish(ctx context.Context, userID, messageID string, n notification.Notification) (string, bool, error)
	Run(ctx context.Context, sink broker.Sink) error
	Subscribe(ctx context.Context, userID string) error
	Unsubscribe(ctx context.Context, userID string) error
	After(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error)
	Latest(ctx context.Context, userID string, limit int) ([]notification.Envelope, error)
	Range(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error)
	Ready(ctx context.Context) error
}

// MaxLen is the log length the factory must configure, so trimming is testable.
const MaxLen = 5

// Recorder is a Sink that keeps what it receives.
type Recorder struct {
	mu      sync.Mutex
	got     map[string][]notification.Envelope
	resyncs int
	notify  chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{got: map[string][]notification.Envelope{}, notify: make(chan struct{}, 1)}
}

// Deliver implements broker.Sink.
func (r *Recorder) Deliver(user string, e notification.Envelope) {
	r.mu.Lock()
	r.got[user] = append(r.got[user], e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Resync implements broker.Sink.
func (r *Recorder) Resync() {
	r.mu.Lock()
	r.resyncs++
	r.mu.Unlock()
}

// Got returns what user received so far.
func (r *Recorder) Got(user string) []notification.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notification.Envelope(nil), r.got[user]...)
}

// WaitFor waits until user has received n notifications.
func (r *Recorder) WaitFor(t testing.TB, user string, n int) []notification.Envelope {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if got := r.Got(user); len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s received %d notifications, want %d", user, len(r.Got(user)), n)
		}
	}
}

// Sample returns a distinct valid notification.
func Sample(i int) notification.Notification {
	return notification.Job{RequestID: "r-" + strconv.Itoa(i), UserID: "ignored", Status: notification.StatusCompleted,
		VideoURL: "https://cdn.example/v/" + strconv.Itoa(i) + ".mp4", Title: "Video " + strconv.Itoa(i)}.Notification(time.Now())
}

// Run runs the contract against brokers made by newBroker, which must return a fresh,
// isolated broker with broker.Limits.MaxLen == MaxLen.
func Run(t *testing.T, newBroker func(t *testing.T) Broker) {
	start := func(t *testing.T) (Broker, *Recorder, context.Context) {
		b := newBroker(t)
		ctx, cancel := context.WithCancel(context.Background())
		rec := NewRecorder()
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx, rec) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		return b, rec, context.Background()
	}
	publish := func(t *testing.T, b Broker, ctx context.Context, user, msgID string, i int) string {
		t.Helper()
		id, dup, err := b.Publish(ctx, user, msgID, Sample(i))
		if err != nil || dup {
			t.Fatalf("Publish(%s, %s) = %q, %v, %v", user, msgID, id, dup, err)
		}
		return id
	}
	subscribe := func(t *testing.T, b Broker, ctx context.Context, user string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := b.Subscribe(sctx, user); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
	}

	t.Run("live delivery reaches only the subscribed user", func(t *testing.T) {
		b, rec, ctx := start(t)
		subscribe(t, b, ctx, "alice")
		subscribe(t, b, ctx, "bob")
		id := publish(t, b, ctx, "alice", "m1", 1)
		got := rec.WaitFor(t, "alice", 1)
		if got[0].ID != id || got[0].Type != notification.VideoComplete {
			t.Errorf("delivered %+v, want id %s", got[0], id)
		}
		publish(t, b, ctx, "bob", "m2", 2)
		rec.WaitFor(t, "bob", 1)
		if n := len(rec.Got("alice")); n != 1 {
			t.Errorf("alice received %d, want 1", n)
		}
		stored, err := b.After(ctx, "alice", "0-0", 10)
		if err != nil || len(stored) != 1 || string(stored[0].Data) != string(got[0].Data) {
			t.Errorf("stored %v (%v) differs from live %s", stored, err, got[0].Data)
		}
	})

	t.Run("duplicate message id is stored and delivered once", func(t *testing.T) {
		b, rec, ctx := start(t)
		subscribe(t, b, ctx, "carol")
		id := publish(t, b, ctx, "carol", "dup", 1)
		id2, dup, err := b.Publish(ctx, "carol", "dup", Sample(1))
		if err != nil || !dup || id2 != id {
			t.Fatalf("second Publish = %q, %v, %v; want %q, true", id2, dup, err, id)
		}
		publish(t, b, ctx, "carol", "other", 2)
		got := rec.WaitFor(t, "carol", 2)
		if len(got) != 2 {
			t.Errorf("delivered %d, want 2", len(got))
		}
		if stored, _ := b.After(ctx, "carol", "0-0", 10); len(stored) != 2 {
			t.Errorf("stored %d, want 2", len(stored))
		}
	})

	t.Run("ids grow and replay is ordered and paged", func(t *testing.T) {
		b, _, ctx := start(t)
		var ids []string
		for i := range 4 {
			ids = append(ids, publish(t, b, ctx, "dave", fmt.Sprint("m", i), i))
		}
		for i := 1; i < len(ids); i++ {
			if mustParse(t, ids[i-1]).Compare(mustParse(t, ids[i])) >= 0 {
				t.Fatalf("ids do not grow: %v", ids)
			}
		}
		page, err := b.After(ctx, "dave", ids[0], 2)
		if err != nil || len(page) != 2 || page[0].ID != ids[1] || page[1].ID != ids[2] {
			t.Fatalf("After(first, 2) = %v, %v", page, err)
		}
		page, err = b.After(ctx, "dave", page[1].ID, 2)
		if err != nil || len(page) != 1 || page[0].ID != ids[3] {
			t.Fatalf("After(third, 2) = %v, %v", page, err)
		}
		page, err = b.After(ctx, "dave", ids[3], 2)
		if err != nil || len(page) != 0 {
			t.Fatalf("After(last) = %v, %v", page, err)
		}
		latest, err := b.Latest(ctx, "dave", 3)
		if err != nil || len(latest) != 3 || latest[0].ID != ids[1] || latest[2].ID != ids[3] {
			t.Fatalf("Latest(3) = %v, %v", latest, err)
		}
	})

	t.Run("resume rules", func(t *testing.T) {
		b, _, ctx := start(t)
		if got, err := b.After(ctx, "erin", "0-0", 10); err != nil || len(got) != 0 {
			t.Fatalf("empty log from 0-0 = %v, %v", got, err)
		}
		wantReset(t, b, ctx, "erin", "5-0", "unknown", "0-0", "0-0")
		var ids []string
		for i := range MaxLen + 2 { // two entries are trimmed
			ids = append(ids, publish(t, b, ctx, "erin", fmt.Sprint("m", i), i))
		}
		newest, oldest := ids[len(ids)-1], ids[2]
		wantReset(t, b, ctx, "erin", "not-an-id", "malformed", newest, oldest)
		wantReset(t, b, ctx, "erin", "", "malformed", newest, oldest)
		wantReset(t, b, ctx, "erin", "0-0", "expired", newest, oldest)
		wantReset(t, b, ctx, "erin", ids[0], "expired", newest, oldest)
		wantReset(t, b, ctx, "erin", mustParse(t, newest).Next().String(), "unknown", newest, oldest)
		// Range pages whatever is held, without the resume check.
		if got, err := b.Range(ctx, "erin", "0-0", 2); err != nil || len(got) != 2 || got[0].ID != oldest {
			t.Fatalf("Range(0-0, 2) = %v, %v; want the two oldest held", got, err)
		}
		if got, err := b.Range(ctx, "erin", ids[4], 10); err != nil || len(got) != 2 || got[1].ID != newest {
			t.Fatalf("Range(ids[4]) = %v, %v", got, err)
		}
		if got, err := b.Range(ctx, "nobody", "0-0", 10); err != nil || len(got) != 0 {
			t.Fatalf("Range on an empty log = %v, %v", got, err)
		}
		// The newest trimmed id loses nothing: everything after it is still held.
		got, err := b.After(ctx, "erin", ids[1], 10)
		if err != nil || len(got) != MaxLen || got[0].ID != oldest {
			t.Fatalf("After(last trimmed) = %d items, %v", len(got), err)
		}
	})

	t.Run("unsubscribe stops live delivery", func(t *testing.T) {
		b, rec, ctx := start(t)
		subscribe(t, b, ctx, "frank")
		subscribe(t, b, ctx, "gina")
		if err := b.Unsubscribe(ctx, "frank"); err != nil {
			t.Fatal(err)
		}
		publish(t, b, ctx, "frank", "m1", 1)
		publish(t, b, ctx, "gina", "m2", 2) // ordered after frank's on the same connection
		rec.WaitFor(t, "gina", 1)
		if got := rec.Got("frank"); len(got) != 0 {
			t.Errorf("frank received %d after unsubscribing", len(got))
		}
	})

	t.Run("ready", func(t *testing.T) {
		b, _, ctx := start(t)
		deadline := time.Now().Add(5 * time.Second)
		for err := b.Ready(ctx); err != nil; err = b.Ready(ctx) {
			if time.Now().After(deadline) {
				t.Fatalf("Ready: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func wantReset(t *testing.T, b Broker, ctx context.Context, user, after, reason, newest, oldest string) {
	t.Helper()
	_, err := b.After(ctx, user, after, 10)
	var r *broker.ResetError
	if !errors.As(err, &r) || !errors.Is(err, broker.ErrReset) {
		t.Fatalf("After(%q) = %v, want a reset", after, err)
	}
	if r.Reason != reason || r.Newest != newest || r.Oldest != oldest {
		t.Errorf("After(%q) reset = %+v, want %s newest %s oldest %s", after, r, reason, newest, oldest)
	}
}

func mustParse(t *testing.T, id string) rediskey.StreamID {
	t.Helper()
	s, err := rediskey.ParseStreamID(id)
	if err != nil {
		t.Fatalf("bad id %q: %v", id, err)
	}
	return s
}
