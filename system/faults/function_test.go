package faults

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// Fault 6: Redis refuses writes (out of memory) while the function handles an event:
// the function asks for a retry (5xx) and writes nothing — no dedupe marker without its
// entry — and the retried event, once Redis recovers, is stored and delivered once. A
// class announcement and a broadcast, stored the way the function stores them
// (redisbroker.Publish to the group's and the broadcast log), go through the same.
func TestFault6_FunctionWithRedisOutOfMemory(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	url := startInProcess(t, rs.Addr, nil)
	f := openFleet(t, 1, 2, func() string { return url }, time.Hour)
	p := newPublisher(t, rs.Addr)
	h, err := notifier.New(p.b, slog.New(slog.DiscardHandler), notifier.NewMetrics(prometheus.NewRegistry()), time.Now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer admin.Close()
	ctx := context.Background()

	job := `{"request_id":"r-oom","user_id":"user-0","status":"completed","video_url":"https://cdn.example/v.mp4"}`
	body := eventarc.PushBody([]byte(job), "oom-1", time.Time{})
	// deliver posts the event the way Eventarc does (a binary-mode CloudEvent) to the
	// handler the function registers; an error is its 5xx, on which Pub/Sub retries.
	deliver := func() error {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Ce-Id", "oom-1")
		r.Header.Set("Ce-Specversion", "1.0")
		r.Header.Set("Ce-Type", eventarc.EventType)
		r.Header.Set("Ce-Source", "//pubsub.googleapis.com/projects/p/topics/t")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			return fmt.Errorf("status %d: %s", w.Code, w.Body)
		}
		return nil
	}

	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	// user-0's tokens name class-0 (groupsOf(0)): an announcement to it and a broadcast.
	announcements := []string{broker.GroupSource("class-0"), broker.Everyone}
	announce := func(source string) error {
		_, _, err := p.b.Publish(ctx, source, "oom-announcement", announcement(source, 0))
		return err
	}
	refused := 0
	for range 3 {
		if err := deliver(); err != nil {
			refused++ // an error is the function's 5xx: Pub/Sub retries
		}
		for _, source := range announcements {
			if announce(source) != nil {
				refused++
			}
		}
	}
	admin.ConfigSet(ctx, "maxmemory", "0")
	names := rediskey.Names{Prefix: rediskey.DefaultPrefix}
	markers := admin.Exists(ctx, names.Seen("user-0", "oom-1")).Val()
	entries := admin.XLen(ctx, names.Log("user-0")).Val()
	for _, source := range announcements {
		markers += admin.Exists(ctx, names.Seen(source, "oom-announcement")).Val()
		entries += admin.XLen(ctx, names.Log(source)).Val()
	}
	if refused != 9 || markers != 0 || entries != 0 {
		t.Fatalf("under OOM: %d of 9 refused, %d markers, %d entries; want 9, 0, 0", refused, markers, entries)
	}
	for range 2 { // the retry, then a redelivery of it
		if err := deliver(); err != nil {
			t.Fatalf("retry after recovery: %v", err)
		}
		for _, source := range announcements {
			if err := announce(source); err != nil {
				t.Fatalf("retry of the announcement to %s after recovery: %v", source, err)
			}
		}
	}
	f.mu.Lock()
	stored := 0
	for _, source := range append([]string{"user-0"}, announcements...) {
		ids, _ := admin.XRange(ctx, names.Log(source), "-", "+").Result()
		if len(ids) != 1 {
			f.mu.Unlock()
			t.Fatalf("%s: %d entries after retries, want 1", source, len(ids))
		}
		id := ids[0].ID // a user's own ids are log positions; a group's and everyone's name their log
		if source != "user-0" {
			id = source + ":" + id
		}
		f.published[source] = []string{id}
		stored++
	}
	f.mu.Unlock()
	c := f.verify(t, "6 function with Redis out of memory, 1 event, 1 class announcement, 1 broadcast, each retried 5 times", 10*time.Second)
	line := fmt.Sprintf("FAULT 6 attempts under OOM refused %d/9 with no marker and no entry; after recovery stored %d; delivered %d to 2 tabs",
		refused, stored, c.delivered)
	t.Log(line)
	fmt.Println(line)
}
