package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/notification"
)

// recorder is a Publisher that records the most writes it had under way at once,
// and fails the write to failOn, counting the writes that start after that failure.
type recorder struct {
	inFlight, most, calls, afterFailure atomic.Int64
	failed                              atomic.Bool
	failOn                              string
	delay                               time.Duration
	mu                                  sync.Mutex
	sources                             []string
}

func (r *recorder) Publish(_ context.Context, source, _ string, _ notification.Notification) (string, bool, error) {
	r.calls.Add(1)
	if r.failed.Load() {
		r.afterFailure.Add(1)
	}
	n := r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	for {
		m := r.most.Load()
		if n <= m || r.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(r.delay)
	if source == r.failOn {
		r.failed.Store(true)
		return "", false, errors.New("redis: i/o timeout")
	}
	r.mu.Lock()
	r.sources = append(r.sources, source)
	r.mu.Unlock()
	return "1-0", false, nil
}

func userList(n int) (audience string, ids []string) {
	for i := range n {
		ids = append(ids, fmt.Sprint("u-", i))
	}
	b, _ := json.Marshal(ids)
	return `{"users":` + string(b) + `}`, ids
}

// TestFanOutIsBounded: a user list is written with at most the configured number of
// writes under way, and more than one (it is concurrent), each user once.
func TestFanOutIsBounded(t *testing.T) {
	t.Parallel()
	for _, c := range []int{1, 3, DefaultConcurrency} {
		r := &recorder{delay: time.Millisecond}
		f := newPublishFixture(t, r, WithConcurrency(c))
		aud, ids := userList(60)
		if err := f.h.Handle(context.Background(), pubsubEvent(t, "f-1", announcementData(aud, ""), now)); err != nil {
			t.Fatal(err)
		}
		if most := r.most.Load(); most > int64(c) || (c > 1 && most < 2) {
			t.Errorf("concurrency %d: %d writes under way at once", c, most)
		}
		seen := map[string]int{}
		for _, s := range r.sources {
			seen[s]++
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("concurrency %d: %s written %d times", c, id, seen[id])
			}
		}
	}
}

// TestFanOutStopsAtFailure: once a write has failed no new write starts (the ones under
// way finish), the handler answers 500 for a retry, and the failure is counted and
// logged with how far it got. With one worker that is exact: nothing after the failing
// write. With four, the others may each start writes until the failing one's worker
// has recorded the failure — as many as a busy machine lets them in that instant, so
// only "it stopped short of the list" is asserted there.
func TestFanOutStopsAtFailure(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 4} {
		aud, ids := userList(200)
		r := &recorder{failOn: ids[10], delay: 100 * time.Microsecond}
		f := newPublishFixture(t, r, WithConcurrency(workers))
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, binaryRequest("s-1", string(eventarc.PushBody([]byte(announcementData(aud, "")), "s-1", now))))
		if w.Code != http.StatusInternalServerError {
			t.Fatalf("%d workers: status %d, want 500", workers, w.Code)
		}
		after, calls := r.afterFailure.Load(), r.calls.Load()
		if workers == 1 && (after != 0 || calls != 11) {
			t.Errorf("1 worker: %d writes (%d after the failure); want 11 and none after", calls, after)
		}
		if calls >= int64(len(ids)) {
			t.Errorf("%d workers: all %d writes attempted despite the failure", workers, calls)
		}
		if v := testutil.ToFloat64(f.metrics.Failures); v != 1 {
			t.Errorf("%d workers: failures = %v", workers, v)
		}
		lines := logLines(t, f.logs)
		if len(lines) != 1 || lines[0]["msg"] != "publish failed; Pub/Sub will retry" || lines[0]["logs"] != 200.0 ||
			lines[0]["written"] != float64(len(r.sources)) || !strings.Contains(fmt.Sprint(lines[0]["error"]), "i/o timeout") {
			t.Errorf("%d workers: log: %s", workers, f.logs)
		}
	}
}
