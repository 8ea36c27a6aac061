package brokertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// RunSchedule runs the contract of broker.Schedule against schedules newSchedule makes
// (each test gets an empty one).
func RunSchedule(t *testing.T, newSchedule func(*testing.T) broker.Schedule) {
	for _, c := range []struct {
		name string
		test func(*testing.T, broker.Schedule)
	}{
		{"nothing is claimable before its time, then once per lease", scheduleDue},
		{"a lapsed lease is claimed again; done is final", scheduleLease},
		{"a key replaces, cancel withdraws", scheduleReplaceCancel},
		{"done keeps a replacement made during the release", scheduleDoneKeepsReplacement},
		{"concurrent claims share the items without overlap", scheduleConcurrentClaims},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, newSchedule(t)) })
	}
}

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func item(key string, due time.Time, title string) broker.Scheduled {
	return broker.Scheduled{Key: key, MessageID: "msg-" + title, Sources: []string{"u-1", broker.GroupSource("class-7b")},
		Notification: notification.Notification{Type: "deadline", Severity: notification.SeverityWarning, Title: title}, DueAt: due}
}

func put(t *testing.T, s broker.Schedule, items ...broker.Scheduled) {
	t.Helper()
	for _, it := range items {
		if err := s.Put(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
}

func claim(t *testing.T, s broker.Schedule, now time.Time, max int) []broker.Claimed {
	t.Helper()
	got, err := s.Claim(context.Background(), now, 10*time.Second, max)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func titles(cs []broker.Claimed) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Notification.Title)
	}
	return out
}

func scheduleDue(t *testing.T, s broker.Schedule) {
	put(t, s, item(broker.MessageKeyOf("a"), t0.Add(time.Minute), "a"), item(broker.MessageKeyOf("b"), t0.Add(2*time.Minute), "b"))
	if got := claim(t, s, t0.Add(time.Minute-time.Millisecond), 10); len(got) != 0 {
		t.Fatalf("claimed %v a millisecond early", titles(got))
	}
	got := claim(t, s, t0.Add(time.Minute), 10)
	if fmt.Sprint(titles(got)) != "[a]" {
		t.Fatalf("claimed %v at a's time, want [a]", titles(got))
	}
	c := got[0]
	if c.MessageID != "msg-a" || len(c.Sources) != 2 || c.Sources[1] != broker.GroupSource("class-7b") ||
		!c.DueAt.Equal(t0.Add(time.Minute)) || c.Notification.Type != "deadline" {
		t.Errorf("claimed %+v, want what was put", c.Scheduled)
	}
	if got := claim(t, s, t0.Add(time.Minute+time.Second), 10); len(got) != 0 {
		t.Fatalf("claimed %v again within the lease", titles(got))
	}
}

func scheduleLease(t *testing.T, s broker.Schedule) {
	put(t, s, item(broker.MessageKeyOf("a"), t0, "a"))
	first := claim(t, s, t0, 10)
	if len(first) != 1 {
		t.Fatalf("claimed %v", titles(first))
	}
	again := claim(t, s, t0.Add(10*time.Second), 10) // the lease (10 s) ran out: its holder died
	if len(again) != 1 {
		t.Fatalf("after the lease: claimed %v, want a again", titles(again))
	}
	if err := s.Done(context.Background(), again[0]); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, t0.Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("claimed %v after done", titles(got))
	}
}

func scheduleReplaceCancel(t *testing.T, s broker.Schedule) {
	ctx := context.Background()
	key := broker.ScheduleKeyOf("deadline-42")
	put(t, s, item(key, t0, "old"), item(key, t0.Add(time.Hour), "new"))
	if got := claim(t, s, t0, 10); len(got) != 0 {
		t.Fatalf("claimed %v at the replaced time", titles(got))
	}
	if got := claim(t, s, t0.Add(time.Hour), 10); fmt.Sprint(titles(got)) != "[new]" {
		t.Fatalf("claimed %v, want only the replacement", titles(got))
	}
	put(t, s, item(broker.MessageKeyOf("c"), t0, "c"))
	if ok, err := s.Cancel(ctx, broker.MessageKeyOf("c")); !ok || err != nil {
		t.Fatalf("Cancel = %v, %v", ok, err)
	}
	if ok, err := s.Cancel(ctx, broker.MessageKeyOf("c")); ok || err != nil {
		t.Fatalf("second Cancel = %v, %v; want false", ok, err)
	}
	if got := claim(t, s, t0.Add(time.Hour+time.Second), 10); len(got) != 0 {
		t.Fatalf("claimed %v after cancel (new still leased)", titles(got))
	}
}

func scheduleDoneKeepsReplacement(t *testing.T, s broker.Schedule) {
	key := broker.ScheduleKeyOf("k")
	put(t, s, item(key, t0, "first"))
	got := claim(t, s, t0, 10)
	put(t, s, item(key, t0.Add(time.Minute), "second"))
	if err := s.Done(context.Background(), got[0]); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, t0.Add(time.Minute), 10); fmt.Sprint(titles(got)) != "[second]" {
		t.Fatalf("claimed %v, want the replacement kept", titles(got))
	}
}

func scheduleConcurrentClaims(t *testing.T, s broker.Schedule) {
	const n = 300
	for i := range n {
		put(t, s, item(broker.MessageKeyOf(fmt.Sprint(i)), t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint(i)))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := s.Claim(context.Background(), t0.Add(time.Second), time.Minute, 25)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					seen[c.Key]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d items claimed, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", k, c)
		}
	}
}
