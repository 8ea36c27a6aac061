package faults

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/functions/notifier"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// Fault 6: Redis refuses writes (out of memory) while the function handles an event:
// the function asks for a retry (5xx) and writes nothing — no dedupe marker without its
// entry — and the retried event, once Redis recovers, is stored and delivered once.
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

	e := event.New()
	e.SetID("oom-1")
	e.SetType(eventarc.EventType)
	e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
	job := `{"request_id":"r-oom","user_id":"user-0","status":"completed","video_url":"https://cdn.example/v.mp4"}`
	e.SetData(event.ApplicationJSON, map[string]any{"message": map[string]any{
		"data": base64.StdEncoding.EncodeToString([]byte(job)), "messageId": "oom-1"}})

	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	refused := 0
	for range 3 {
		if err := h.Handle(ctx, e); err != nil {
			refused++ // an error is the function's 5xx: Pub/Sub retries
		}
	}
	admin.ConfigSet(ctx, "maxmemory", "0")
	markers := admin.Exists(ctx, "notifications:{user-0}:seen:oom-1").Val()
	entries := admin.XLen(ctx, "notifications:{user-0}:log").Val()
	if refused != 3 || markers != 0 || entries != 0 {
		t.Fatalf("under OOM: %d of 3 refused, %d markers, %d entries; want 3, 0, 0", refused, markers, entries)
	}
	for range 2 { // the retry, then a redelivery of it
		if err := h.Handle(ctx, e); err != nil {
			t.Fatalf("retry after recovery: %v", err)
		}
	}
	ids, _ := admin.XRange(ctx, "notifications:{user-0}:log", "-", "+").Result()
	if len(ids) != 1 {
		t.Fatalf("%d entries after retries, want 1", len(ids))
	}
	f.mu.Lock()
	f.published["user-0"] = []string{ids[0].ID}
	f.mu.Unlock()
	c := f.verify(t, "6 function with Redis out of memory, 1 event retried 5 times", 10*time.Second)
	line := fmt.Sprintf("FAULT 6 attempts under OOM refused %d/3 with no marker and no entry; after recovery stored %d; delivered %d to 2 tabs",
		refused, len(ids), c.delivered)
	t.Log(line)
	fmt.Println(line)
}
