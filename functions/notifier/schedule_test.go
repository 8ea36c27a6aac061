package notifier

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/shared/broker"
)

// TestPublishScheduled: an announcement with send_at is stored in the schedule, not in
// any log; a later one with the same schedule_key replaces it; a cancel withdraws it;
// send_at more than 30 days ahead, or no schedule, is refused (acknowledged).
func TestPublishScheduled(t *testing.T) {
	t.Parallel()
	sched := broker.NewMemorySchedule()
	f := newPublishFixture(t, nil, WithSchedule(sched))
	ctx := context.Background()
	handle := func(id, data string) {
		t.Helper()
		if err := f.h.Handle(ctx, pubsubEvent(t, id, data, now)); err != nil {
			t.Fatal(err)
		}
	}
	at := now.Add(time.Hour)
	handle("s-1", announcementData(`{"users":["u-1"]}`, `,"send_at":"`+at.Format(time.RFC3339)+`","schedule_key":"hw-7"`))
	handle("s-2", announcementData(`{"users":["u-1","u-2"]}`, `,"send_at":"`+at.Add(time.Minute).Format(time.RFC3339)+`","schedule_key":"hw-7"`))
	if n := f.count(t, "u-1"); n != 0 {
		t.Fatalf("u-1's log holds %d before send_at, want 0", n)
	}
	if got, _ := sched.Claim(ctx, at, time.Minute, 10); len(got) != 0 {
		t.Fatalf("the replaced time still claims %d", len(got))
	}
	got, _ := sched.Claim(ctx, at.Add(time.Minute), time.Minute, 10)
	if len(got) != 1 || got[0].MessageID != "s-2" || len(got[0].Sources) != 2 || !got[0].Notification.CreatedAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("claimed %+v, want s-2 for two users created at its send_at", got)
	}
	if err := sched.Done(ctx, got[0]); err != nil {
		t.Fatal(err)
	}

	handle("s-3", announcementData(`{"all":true}`, `,"send_at":"`+at.Format(time.RFC3339)+`","schedule_key":"bye"`))
	handle("s-4", `{"type":"cancel","schedule_key":"bye"}`)
	if got, _ := sched.Claim(ctx, at.Add(time.Hour), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed %d after cancel", len(got))
	}

	handle("s-5", announcementData(`{"users":["u-1"]}`, `,"send_at":"`+now.Add(31*24*time.Hour).Format(time.RFC3339)+`"`))
	if v := testutil.ToFloat64(f.metrics.Rejected.WithLabelValues("too_far_ahead")); v != 1 {
		t.Errorf("rejected{too_far_ahead} = %v, want 1", v)
	}
	none := newPublishFixture(t, nil)
	if err := none.h.Handle(ctx, pubsubEvent(t, "s-6", announcementData(`{"users":["u-1"]}`, `,"send_at":"`+at.Format(time.RFC3339)+`"`), now)); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(none.metrics.Rejected.WithLabelValues("unschedulable")); v != 1 || none.count(t, "u-1") != 0 {
		t.Errorf("without a schedule: rejected{unschedulable} = %v, u-1 holds %d", v, none.count(t, "u-1"))
	}
}
