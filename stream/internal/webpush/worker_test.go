package webpush

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestOfflineUserGetsDecryptablePush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.subscribe("u-1", "/sub/u1-laptop")
	e.subscribe("u-1", "/sub/u1-phone")
	e.run(e.worker)
	start := time.Now()
	data := e.enqueue("u-1", "1764174645123-0", "video_complete")
	for range 2 {
		got, ok := e.ps.Next(5 * time.Second)
		if !ok {
			t.Fatal("no push within 5s of being queued")
		}
		t.Logf("%s: enqueue → push service %v", got.Path, got.At.Sub(start))
		if string(got.Plain) != string(data) {
			t.Errorf("plaintext = %s, want the SSE data %s", got.Plain, data)
		}
		if h := got.Header; h.Get("TTL") != "86400" || h.Get("Urgency") != "high" || h.Get("Topic") == "" {
			t.Errorf("headers TTL=%q Urgency=%q Topic=%q", h.Get("TTL"), h.Get("Urgency"), h.Get("Topic"))
		}
	}
	e.waitHandled(e.worker, 1)
	if n, _ := e.rdb.XLen(context.Background(), e.queue).Result(); n != 0 {
		t.Errorf("queue holds %d entries after handling, want 0 (acked and deleted)", n)
	}
}

func TestNoPushWhenOnlineMutedOrOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.users.online["u-online"] = true
	e.users.prefs["u-off"] = PushPrefs{Off: true}
	e.users.prefs["u-muted"] = PushPrefs{Muted: []string{"announcement"}}
	for _, u := range []string{"u-online", "u-off", "u-muted"} {
		e.subscribe(u, "/sub/"+u)
	}
	e.run(e.worker)
	e.enqueue("u-online", "1-0", "video_complete")
	e.enqueue("u-off", "2-0", "video_complete")
	e.enqueue("u-muted", "3-0", "announcement")
	e.enqueue("u-muted", "4-0", "video_failed") // not muted: pushed
	got, ok := e.ps.Next(5 * time.Second)
	if !ok || got.Path != "/sub/u-muted" {
		t.Fatalf("got push %v %q, want the unmuted one to u-muted", ok, got.Path)
	}
	e.waitHandled(e.worker, 4)
	if all := e.ps.All(); len(all) != 1 {
		t.Fatalf("%d pushes, want 1", len(all))
	}
	if s := e.worker.Stats(); s.SkippedOnline != 1 || s.SkippedPrefs != 2 || s.Sent != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestGoneSubscriptionIsRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	gone := e.subscribe("u-1", "/sub/gone", http.StatusGone)
	e.subscribe("u-1", "/sub/alive")
	e.subscribe("u-2", "/sub/missing", http.StatusNotFound)
	e.run(e.worker)
	e.enqueue("u-1", "1-0", "video_complete")
	e.enqueue("u-2", "2-0", "video_complete")
	e.waitHandled(e.worker, 2)
	subs, _ := e.store.List(context.Background(), "u-1")
	if len(subs) != 1 || subs[0].Endpoint == gone.Endpoint {
		t.Errorf("u-1 subscriptions after a 410: %v, want only the live one", subs)
	}
	if subs, _ := e.store.List(context.Background(), "u-2"); len(subs) != 0 {
		t.Errorf("u-2 subscriptions after a 404: %v, want none", subs)
	}
}

func TestServerErrorIsRetriedHonouringRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.subscribe("u-1", "/sub/flaky", http.StatusInternalServerError, http.StatusTooManyRequests)
	e.run(e.worker)
	e.enqueue("u-1", "1-0", "video_complete")
	got, ok := e.ps.Next(5 * time.Second)
	if !ok {
		t.Fatal("push never delivered after 500 and 429")
	}
	if got.Attempt != 3 {
		t.Errorf("delivered on attempt %d, want 3", got.Attempt)
	}
	at := e.ps.Attempts("/sub/flaky")
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 900*time.Millisecond {
			t.Errorf("attempt %d came %v after the previous, despite Retry-After: 1", i+1, gap)
		}
	}
	e.waitHandled(e.worker, 1)
	if s := e.worker.Stats(); s.Retries != 2 || s.Sent != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestHangingPushServiceDelaysNobodyElse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *WorkerOptions) { o.Concurrency, o.PerOrigin = 4, 2 })
	slow := newPushService(t, e.cfg.PublicKey, e.cfg.Subject)
	for _, p := range []string{"/sub/hang-a", "/sub/hang-b", "/sub/hang-c"} {
		e.subscribeAt(slow, "u-slow", p, hang, hang)
	}
	e.subscribe("u-fast", "/sub/fast")
	e.run(e.worker)
	e.enqueue("u-slow", "1-0", "video_complete")
	time.Sleep(200 * time.Millisecond) // the slow service's share of the slots is taken
	start := time.Now()
	e.enqueue("u-fast", "2-0", "video_complete")
	got, ok := e.ps.Next(5 * time.Second)
	if !ok || got.Path != "/sub/fast" {
		t.Fatalf("u-fast's push: %v %q", ok, got.Path)
	}
	t.Logf("push to u-fast %v after enqueue while another push service hangs", got.At.Sub(start))
	if got.At.Sub(start) > time.Second {
		t.Errorf("u-fast waited %v behind a hanging push service", got.At.Sub(start))
	}
	if n := len(slow.Attempts("/sub/hang-a")) + len(slow.Attempts("/sub/hang-b")) + len(slow.Attempts("/sub/hang-c")); n != 2 {
		t.Errorf("%d requests on the wire to the hanging service, want its share of 2", n)
	}
}

func TestBurstIsCoalesced(t *testing.T) {
	t.Parallel()
	const window = time.Second
	e := newEnv(t, func(o *WorkerOptions) { o.Window = window })
	e.subscribe("u-1", "/sub/u1")
	e.run(e.worker)
	start := time.Now()
	first := e.enqueue("u-1", "100-0", "video_complete")
	for i := 1; i < 10; i++ {
		e.enqueue("u-1", "10"+string(rune('0'+i))+"-0", "announcement")
		time.Sleep(window / 20)
	}
	got, ok := e.ps.Next(5 * time.Second)
	if !ok || string(got.Plain) != string(first) {
		t.Fatalf("first push %v %s, want the first notification", ok, got.Plain)
	}
	t.Logf("first push %v after enqueue", got.At.Sub(start))
	sum, ok := e.ps.Next(3 * window)
	if !ok {
		t.Fatal("no summary push at the end of the window")
	}
	var doc struct {
		ID, Type, Title string
		Count           int
	}
	if err := json.Unmarshal(sum.Plain, &doc); err != nil || doc.Type != SummaryType || doc.Count != 10 || doc.ID != "109-0" {
		t.Errorf("summary %s (%v), want type summary, count 10, id 109-0", sum.Plain, err)
	}
	if sum.Header.Get("Topic") != got.Header.Get("Topic") {
		t.Error("summary has another Topic than the push it should replace")
	}
	// The summary opened a new window: a notification now waits for its end.
	e.enqueue("u-1", "200-0", "video_complete")
	if _, ok := e.ps.Next(window / 2); ok {
		t.Fatal("a notification right after the summary was pushed at once")
	}
	if s, ok := e.ps.Next(3 * window); !ok || !json.Valid(s.Plain) {
		t.Fatal("a notification after the summary was never pushed")
	} else if json.Unmarshal(s.Plain, &doc); doc.Type != SummaryType || doc.Count != 1 {
		t.Errorf("second summary %s", s.Plain)
	}
	if n := len(e.ps.All()); n != 3 {
		t.Errorf("%d pushes for 11 notifications in two windows, want 3", n)
	}
}

// TestDeadConsumersEntryIsReclaimed: a dead instance's pending entry is taken over on a
// quiet queue. The reader spends nearly all its time in a blocked read (1 s, the
// production Block) holding up to 100 free slots; with fewer slots than that, a reclaim
// that needed a slot the reader did not hold would never run (it left a killed
// instance's broadcast pushes pending until new traffic, TestBroadcastSurvivesAnInstanceKill).
func TestDeadConsumersEntryIsReclaimed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *WorkerOptions) {
		o.ClaimIdle, o.Block, o.MaxInFlight = 500*time.Millisecond, time.Second, 8
	})
	e.subscribe("u-1", "/sub/u1")
	ctx := context.Background()
	// Another instance read the entry and died before handling it.
	if err := e.rdb.XGroupCreateMkStream(ctx, e.queue, "push", "0").Err(); err != nil {
		t.Fatal(err)
	}
	data := e.enqueue("u-1", "1-0", "video_complete")
	read, err := e.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "push", Consumer: "dead",
		Streams: []string{e.queue, ">"}, Count: 1}).Result()
	if err != nil || len(read[0].Messages) != 1 {
		t.Fatalf("dead consumer's read: %v %v", read, err)
	}
	start := time.Now()
	e.run(e.worker)
	got, ok := e.ps.Next(5 * time.Second)
	if !ok || string(got.Plain) != string(data) {
		t.Fatalf("reclaimed push %v %s", ok, got.Plain)
	}
	t.Logf("reclaimed and pushed %v after the survivor started (claim idle 500ms)", got.At.Sub(start))
	e.waitHandled(e.worker, 1)
	if p, _ := e.rdb.XPending(ctx, e.queue, "push").Result(); p.Count != 0 {
		t.Errorf("%d entries still pending", p.Count)
	}
	if s := e.worker.Stats(); s.Reclaimed != 1 {
		t.Errorf("stats %+v", s)
	}
	// The dead consumer, now with nothing pending, is dropped from the group.
	if err := e.worker.pruneConsumers(ctx, 0); err != nil {
		t.Fatal(err)
	}
	consumers, _ := e.rdb.XInfoConsumers(ctx, e.queue, "push").Result()
	if len(consumers) != 1 || consumers[0].Name != e.worker.opts.Consumer {
		t.Errorf("consumers after pruning: %+v, want only the live one", consumers)
	}
}

func TestEntryLeftByARedisFailureIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *WorkerOptions) { o.ClaimIdle = 300 * time.Millisecond })
	e.users.fail = 1
	e.subscribe("u-1", "/sub/u1")
	e.run(e.worker)
	data := e.enqueue("u-1", "1-0", "video_complete")
	got, ok := e.ps.Next(5 * time.Second)
	if !ok || string(got.Plain) != string(data) {
		t.Fatalf("push after a failed presence check: %v %s", ok, got.Plain)
	}
	e.waitHandled(e.worker, 1)
}

func TestTwoWorkersShareTheQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	other := e.newWorker(WorkerOptions{Queue: e.queue, Block: 200 * time.Millisecond, Drain: 100 * time.Millisecond})
	for i := range 20 {
		u := "u-" + string(rune('a'+i))
		e.subscribe(u, "/sub/"+u)
	}
	e.run(e.worker)
	e.run(other)
	for i := range 20 {
		e.enqueue("u-"+string(rune('a'+i)), "1-0", "video_complete")
	}
	for range 20 {
		if _, ok := e.ps.Next(5 * time.Second); !ok {
			t.Fatal("missing push")
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(e.ps.All()); n != 20 {
		t.Errorf("%d pushes for 20 entries: each must be handled by exactly one worker", n)
	}
	t.Logf("split: %d / %d", e.worker.Stats().Sent, other.Stats().Sent)
}
