package notify

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/notification"
)

// TestPublishRedisDown: with Redis down Publish answers 5xx (Pub/Sub retries); the
// retry after recovery stores the announcement once.
func TestPublishRedisDown(t *testing.T) {
	run := runID()
	user := "pd-u-" + run
	data := announce(t, map[string]any{"users": []string{user}}, nil)
	server.Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = server.Restart()
		}
	})
	if got := deliverTo(t, publishURL, "pd-"+run, data); got/100 != 5 {
		t.Fatalf("redis down: status %d, want 5xx", got)
	}
	if err := server.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	for range 2 {
		if got := deliverTo(t, publishURL, "pd-"+run, data); got != http.StatusOK {
			t.Fatalf("retry after recovery: status %d", got)
		}
	}
	checkOne(t, openBroker(t), user)
}

// flaky fails every write to the sources in down, as a Redis that went away mid-way
// through a user list would, until healed; everything else goes to the real broker.
type flaky struct {
	notifier.Publisher
	mu   sync.Mutex
	down map[string]bool
}

func (f *flaky) Publish(ctx context.Context, source, messageID string, n notification.Notification) (string, bool, error) {
	f.mu.Lock()
	fail := f.down[source]
	f.mu.Unlock()
	if fail {
		return "", false, fmt.Errorf("publish script for %s: i/o timeout", source)
	}
	return f.Publisher.Publish(ctx, source, messageID, n)
}

func (f *flaky) heal() {
	f.mu.Lock()
	f.down = nil
	f.mu.Unlock()
}

// TestPublishRetryAfterPartialFailure: a delivery to 1,000 users that fails part-way
// (5xx) and is retried by Pub/Sub leaves every user exactly one notification — the
// retry writes only to the users the first attempt had not reached — and a later
// redelivery writes nothing.
func TestPublishRetryAfterPartialFailure(t *testing.T) {
	b := openBroker(t)
	run := runID()
	users := make([]string, 1000)
	for i := range users {
		users[i] = fmt.Sprintf("pp%d-%s", i, run)
	}
	// Redis "goes away" from the 501st user on: the writes to users[0:500] have all
	// started before any of those (in list order) and are allowed to finish.
	pub := &flaky{Publisher: b, down: map[string]bool{}}
	for _, u := range users[500:] {
		pub.down[u] = true
	}
	m := notifier.NewMetrics(prometheus.NewRegistry()).For(PublishEntryPoint)
	h, err := notifier.NewPublish(pub, slog.New(slog.DiscardHandler), m, time.Now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	body := eventarc.PushBody(announce(t, map[string]any{"users": users}, nil), "pp-"+run, time.Now())
	serve := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		return w.Code
	}
	counts := func() (none, one int) {
		for _, u := range users {
			switch n := len(stored(t, b, u)); n {
			case 0:
				none++
			case 1:
				one++
			default:
				t.Fatalf("%s holds %d notifications", u, n)
			}
		}
		return none, one
	}

	if got := serve(); got != http.StatusInternalServerError {
		t.Fatalf("first attempt: status %d, want 500", got)
	}
	if none, firstWritten := counts(); none != 500 || firstWritten != 500 {
		t.Fatalf("after the failure: %d users reached, %d not; want the first 500", firstWritten, none)
	}
	pub.heal()
	if got := serve(); got != http.StatusOK {
		t.Fatalf("retry: status %d", got)
	}
	if none, one := counts(); none != 0 || one != len(users) {
		t.Fatalf("after the retry: %d users without, %d with one", none, one)
	}
	if got := testutil.ToFloat64(m.Writes.WithLabelValues(notification.AudienceUsers)); got != float64(len(users)) {
		t.Errorf("writes = %v over both attempts, want %d (the retry wrote only the missing ones)", got, len(users))
	}
	if got := serve(); got != http.StatusOK {
		t.Fatalf("redelivery: status %d", got)
	}
	if got := testutil.ToFloat64(m.Duplicates); got != 1 {
		t.Errorf("duplicates = %v, want 1 (the redelivery)", got)
	}
	if got := testutil.ToFloat64(m.Writes.WithLabelValues(notification.AudienceUsers)); got != float64(len(users)) {
		t.Errorf("the redelivery wrote again: writes = %v", got)
	}
	counts()
}
