package server

import (
	"context"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// TestScheduledInvisibleThenDeliveredOnTime: a scheduled notification is not on the
// open stream, in a replay or in history before its time, and reaches the stream
// within a second after it (the instance's releaser polls every 250 ms).
func TestScheduledInvisibleThenDeliveredOnTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	start := e.publish("psa")
	c := e.open("psa", start, "")
	due := time.Now().Add(800 * time.Millisecond).Truncate(time.Millisecond)
	item := broker.Scheduled{Key: broker.ScheduleKeyOf("hw-7"), MessageID: "sched-1", Sources: []string{"psa"}, DueAt: due,
		Notification: notification.Notification{Type: "deadline", Severity: notification.SeverityWarning, Title: "Homework 7 due at 8:00",
			CreatedAt: notification.Timestamp{Time: due}}}
	if err := redisbroker.NewSchedule(e.rdb, e.names).Put(context.Background(), item); err != nil {
		t.Fatal(err)
	}
	c.quiet(time.Until(due) - 150*time.Millisecond)
	if ids, _, _ := e.readHistory("psa", ""); len(ids) != 1 {
		t.Fatalf("history before send_at holds %d, want only the earlier notification", len(ids))
	}
	f := c.events(1)[0]
	late := time.Since(due)
	t.Logf("delivered %v after send_at", late.Round(time.Millisecond))
	if f.event != "deadline" || late > time.Second {
		t.Fatalf("got %+v %v after send_at, want the deadline within 1s", f, late)
	}
	if ids, _, _ := e.readHistory("psa", ""); len(ids) != 2 {
		t.Errorf("history after send_at holds %d, want 2", len(ids))
	}
}
