package server

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
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

// TestScheduleNeedsAPublisher: the stream's Broker cannot publish, so a schedule
// without the Publisher it releases into is a wiring mistake New refuses, not an
// instance that silently releases nothing.
func TestScheduleNeedsAPublisher(t *testing.T) {
	t.Parallel()
	mem, err := broker.NewMemory(broker.DefaultLimits, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Broker: mem, Tickets: ticket.NewMemoryStore(time.Now), Presence: presence.NewMemory(time.Now),
		Schedule: broker.NewMemorySchedule()}
	if _, _, err := Build(testConfig(), d, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Build accepted a schedule without a publisher")
	}
	d.Publisher = mem
	if _, _, err := Build(testConfig(), d, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("Build with schedule and publisher: %v", err)
	}
}
