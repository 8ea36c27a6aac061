package notifier

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// fakeEraser records the users it erased; fail makes it fail.
type fakeEraser struct {
	mu    sync.Mutex
	users []string
	fail  bool
}

func (f *fakeEraser) EraseUser(_ context.Context, user string) (redisbroker.Erased, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return redisbroker.Erased{}, errors.New("redis down: key notifications:{" + user + "}:log")
	}
	f.users = append(f.users, user)
	return redisbroker.Erased{Keys: 7}, nil
}

// TestEraseUserMessage: an erase_user message on the notifications topic erases that
// user, also when old (never refused as stale) and when redelivered; it is logged
// without the user id; a store failure is retried (an error), and it stores nothing.
func TestEraseUserMessage(t *testing.T) {
	t.Parallel()
	er := &fakeEraser{}
	f := newPublishFixture(t, nil, WithEraser(er))
	ctx := context.Background()
	data := `{"type":"erase_user","user_id":"student-4711"}`
	for _, published := range []time.Time{now, now.Add(-72 * time.Hour), now} {
		if err := f.h.Handle(ctx, pubsubEvent(t, "erase-1", data, published)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(er.users, ",") != "student-4711,student-4711,student-4711" {
		t.Errorf("erased %v", er.users)
	}
	if strings.Contains(f.logs.String(), "student-4711") || !strings.Contains(f.logs.String(), `"msg":"user erased"`) {
		t.Errorf("logs: %s", f.logs)
	}
	if n := f.count(t, "student-4711"); n != 0 {
		t.Errorf("stored %d notifications", n)
	}
	er.fail = true
	if err := f.h.Handle(ctx, pubsubEvent(t, "erase-2", data, now)); err == nil || strings.Contains(err.Error(), "student-4711") {
		t.Errorf("a failed erasure = %v, want an error (retry) without the user id", err)
	}
	if strings.Contains(f.logs.String(), "student-4711") {
		t.Errorf("logs name the user: %s", f.logs)
	}
}

// TestEraseUserRefusals: a malformed erase_user is acknowledged and counted as
// malformed, and erases nothing; so is any erase_user where no eraser is configured.
func TestEraseUserRefusals(t *testing.T) {
	t.Parallel()
	er := &fakeEraser{}
	f := newPublishFixture(t, nil, WithEraser(er))
	for i, data := range []string{
		`{"type":"erase_user"}`,
		`{"type":"erase_user","user_id":"bad id*"}`,
		`{"type":"erase_user","user_id":"u-1","audience":{"all":true}}`,
		`{"type":"erase_user","user_id":7}`,
	} {
		if err := f.h.Handle(context.Background(), pubsubEvent(t, "bad-"+string(rune('a'+i)), data, now)); err != nil {
			t.Errorf("%s: %v", data, err)
		}
	}
	if len(er.users) != 0 || testutil.ToFloat64(f.metrics.Rejected.WithLabelValues("malformed")) != 4 {
		t.Errorf("erased %v; rejected %v", er.users, testutil.ToFloat64(f.metrics.Rejected.WithLabelValues("malformed")))
	}
	off := newPublishFixture(t, nil)
	if err := off.h.Handle(context.Background(), pubsubEvent(t, "x", `{"type":"erase_user","user_id":"u-1"}`, now)); err != nil ||
		testutil.ToFloat64(off.metrics.Rejected.WithLabelValues("malformed")) != 1 {
		t.Errorf("without an eraser: %v", err)
	}
}
