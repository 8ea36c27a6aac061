package brokertest

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

var _ broker.Sink = (*Recorder)(nil)

// Recorder is a Sink that keeps what it receives.
type Recorder struct {
	mu       sync.Mutex
	got      map[string][]notification.Envelope
	controls map[string][]broker.Control
	order    map[string][]string // per user: notification ids and "ctl:<kind>", as received
	resyncs  int
	notify   chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{got: map[string][]notification.Envelope{}, controls: map[string][]broker.Control{},
		order: map[string][]string{}, notify: make(chan struct{}, 1)}
}

// Deliver implements broker.Sink.
func (r *Recorder) Deliver(user string, e notification.Envelope) {
	r.mu.Lock()
	r.got[user] = append(r.got[user], e)
	r.order[user] = append(r.order[user], e.ID)
	r.mu.Unlock()
	r.wake()
}

// Resync implements broker.Sink.
func (r *Recorder) Resync() {
	r.mu.Lock()
	r.resyncs++
	r.mu.Unlock()
	r.wake()
}

// Control implements broker.Sink.
func (r *Recorder) Control(user string, c broker.Control) {
	r.mu.Lock()
	r.controls[user] = append(r.controls[user], c)
	r.order[user] = append(r.order[user], "ctl:"+string(c.Kind))
	r.mu.Unlock()
	r.wake()
}

// Controls returns the control messages user received so far.
func (r *Recorder) Controls(user string) []broker.Control {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]broker.Control(nil), r.controls[user]...)
}

// Order returns what user received so far, in order: notification ids, and
// "ctl:<kind>" for control messages.
func (r *Recorder) Order(user string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order[user]...)
}

// WaitForControls waits until user has received n control messages.
func (r *Recorder) WaitForControls(t testing.TB, user string, n int) []broker.Control {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if got := r.Controls(user); len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s received %d control messages, want %d", user, len(r.Controls(user)), n)
		}
	}
}

func (r *Recorder) wake() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Got returns what user received so far.
func (r *Recorder) Got(user string) []notification.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notification.Envelope(nil), r.got[user]...)
}

// Resyncs returns how many times Resync was called.
func (r *Recorder) Resyncs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resyncs
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
