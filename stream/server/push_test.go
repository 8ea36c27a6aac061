package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// TestPushSubscriptionAPI drives the key and subscription routes as a browser's client
// would: key, subscribe (201), re-subscribe, the 11th refused (409), invalid (400),
// unauthenticated (401), too big (413), cross-site (403), delete (204, idempotent).
func TestPushSubscriptionAPI(t *testing.T) {
	t.Parallel()
	p := newPushEnv(t, nil)
	code, body := p.call(http.MethodGet, "/api/v1/notifications/push/key", "", "")
	var key struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal([]byte(body), &key); code != http.StatusOK || err != nil || key.PublicKey != p.cfg.Push.PublicKey {
		t.Fatalf("GET key: %d %s, want 200 with the configured public key", code, body)
	}
	subs := make([]string, 0, webpush.MaxSubscriptions)
	for i := range webpush.MaxSubscriptions {
		s := p.subscribe("u-1", "/sub/"+string(rune('a'+i)), key.PublicKey, "")
		subs = append(subs, subJSON(s, ""))
	}
	// Re-subscribing at a known endpoint (new keys) replaces it, even at the cap.
	again := p.ps.Subscribe("/sub/a", key.PublicKey)
	if code, body := p.call(http.MethodPost, subsPath, "u-1", subJSON(again, "")); code != http.StatusCreated {
		t.Errorf("re-subscribe at the cap: %d %s", code, body)
	}
	eleventh := subJSON(p.ps.Subscribe("/sub/k", key.PublicKey), "")
	if code, body := p.call(http.MethodPost, subsPath, "u-1", eleventh); code != http.StatusConflict || !strings.Contains(body, `"error":"at most 10`) {
		t.Errorf("11th subscription: %d %s, want 409 with a JSON error", code, body)
	}
	if code, _ := p.call(http.MethodPost, subsPath, "u-2", eleventh); code != http.StatusCreated {
		t.Errorf("another user's first subscription: %d, want 201 (the cap is per user)", code)
	}
	good := p.ps.Subscribe("/sub/x", key.PublicKey)
	for name, c := range map[string]struct {
		method, user, body string
		want               int
	}{
		"not https":            {http.MethodPost, "u-3", strings.Replace(subJSON(good, ""), "http://", "ftp://", 1), http.StatusBadRequest},
		"private address":      {http.MethodPost, "u-3", strings.Replace(subJSON(good, ""), "127.0.0.1", "10.0.0.1", 1), http.StatusBadRequest},
		"keys missing":         {http.MethodPost, "u-3", `{"endpoint":"https://fcm.googleapis.com/fcm/send/x"}`, http.StatusBadRequest},
		"not json":             {http.MethodPost, "u-3", `endpoint=https://x`, http.StatusBadRequest},
		"keys not object":      {http.MethodPost, "u-3", `{"endpoint":"https://fcm.googleapis.com/x","keys":"k"}`, http.StatusBadRequest},
		"empty":                {http.MethodPost, "u-3", ``, http.StatusBadRequest},
		"unknown vapid key":    {http.MethodPost, "u-3", subJSON(good, `,"public_key":"BAAA"`), http.StatusBadRequest},
		"no credential":        {http.MethodPost, "", subJSON(good, ""), http.StatusUnauthorized},
		"too big":              {http.MethodPost, "u-3", `{"pad":"` + strings.Repeat("a", 65<<10) + `"}`, http.StatusRequestEntityTooLarge},
		"delete no endpoint":   {http.MethodDelete, "u-3", `{}`, http.StatusBadRequest},
		"delete no credential": {http.MethodDelete, "", subJSON(good, ""), http.StatusUnauthorized},
	} {
		code, body := p.call(c.method, subsPath, c.user, c.body)
		if code != c.want || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s: %d %s, want %d with a JSON error", name, code, body, c.want)
		}
	}
	// A page of another site may not use the API from a student's browser.
	req, _ := http.NewRequest(http.MethodGet, p.url+"/api/v1/notifications/push/key", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site key request: %v %v, want 403", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// DELETE with the same body: 204, and again 204; the freed place takes the 11th.
	for range 2 {
		if code, body := p.call(http.MethodDelete, subsPath, "u-1", subs[3]); code != http.StatusNoContent || body != "" {
			t.Errorf("DELETE: %d %q, want 204 without a body", code, body)
		}
	}
	if code, body := p.call(http.MethodPost, subsPath, "u-1", eleventh); code != http.StatusCreated {
		t.Errorf("subscription after a DELETE: %d %s", code, body)
	}
	stored, err := webpush.NewRedisStore(p.rdb, p.names, true).List(context.Background(), "u-1")
	if err != nil || len(stored) != webpush.MaxSubscriptions {
		t.Fatalf("stored: %d %v, want %d", len(stored), err, webpush.MaxSubscriptions)
	}
	for _, s := range stored {
		if s.PublicKey != key.PublicKey {
			t.Errorf("subscription stored with key %q, want the current key recorded", s.PublicKey)
		}
	}
}

// TestPushOffAnswers404: without VAPID keys the push routes say so; with keys but the
// in-process broker (no Redis for the queue) push is off too.
func TestPushOffAnswers404(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Config){
		"no keys":  func(c *Config) { c.Push = webpush.Config{} },
		"no redis": nil,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var url string
			if mutate != nil {
				url = newPushEnv(t, mutate).url
			} else {
				_, _, srv, u, _, _ := memoryServer(t, func(c *Config) {
					pub, priv := vapidPair(t)
					c.Push = webpush.Config{PublicKey: pub, PrivateKey: priv, Subject: pushSubject, TTL: time.Hour, Window: time.Minute, Concurrency: 1}
				})
				if srv.push != nil {
					t.Fatal("push on without Redis")
				}
				url = u
			}
			p := &pushEnv{env: &env{t: t, url: url}}
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
				path := subsPath
				if m == http.MethodGet {
					path = "/api/v1/notifications/push/key"
				}
				if code, body := p.call(m, path, "u-1", `{"endpoint":"https://fcm.googleapis.com/x"}`); code != http.StatusNotFound || !strings.HasPrefix(body, `{"error":`) {
					t.Errorf("%s %s: %d %s, want 404 with a JSON error", m, path, code, body)
				}
			}
		})
	}
}

// TestPushReachesOfflineUserThroughServer: a notification queued as the function does
// reaches the stand-in, decrypted and VAPID-verified, within 5 s, through a server
// built like bin/stream; the figures are enqueue → stand-in.
func TestPushReachesOfflineUserThroughServer(t *testing.T) {
	t.Parallel()
	p := newPushEnv(t, nil)
	const users = 30
	for i := range users {
		p.subscribe(userN(i), "/sub/"+userN(i), p.cfg.Push.PublicKey, "")
	}
	time.Sleep(100 * time.Millisecond) // the worker's consumer group exists and it is reading
	var lat []time.Duration
	for i := range users {
		data, at := p.enqueue(userN(i))
		got, ok := p.ps.Next(5 * time.Second)
		if !ok {
			t.Fatalf("push %d not received within 5s", i)
		}
		if got.Path != "/sub/"+userN(i) || string(got.Plain) != string(data) {
			t.Fatalf("push to %s: %s, want the SSE data %s", got.Path, got.Plain, data)
		}
		if got.VAPIDKey != p.cfg.Push.PublicKey || got.Header.Get("Urgency") != "high" || got.Header.Get("TTL") != "86400" {
			t.Errorf("push headers: k=%.10s… Urgency %q TTL %q", got.VAPIDKey, got.Header.Get("Urgency"), got.Header.Get("TTL"))
		}
		lat = append(lat, got.At.Sub(at))
	}
	slices.Sort(lat)
	t.Logf("enqueue → push service stand-in through the server, %d offline users one at a time: p50 %v, p90 %v, max %v",
		users, lat[users/2], lat[users*9/10], lat[users-1])
	p.waitStats("all handled", func(s webpush.Stats) bool { return s.Handled == users })
	if line := p.metric("push_sent_total"); line != "push_sent_total 30" {
		t.Errorf("metric %q, want push_sent_total 30", line)
	}
	if n, _ := p.rdb.XLen(context.Background(), p.names.PushQueue()).Result(); n != 0 {
		t.Errorf("queue holds %d entries after handling, want 0", n)
	}
}

func userN(i int) string { return "u-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) }

// TestNoPushWhileStreamOpen: a user with an open stream gets no push; once it closes,
// the next notification is pushed.
func TestNoPushWhileStreamOpen(t *testing.T) {
	t.Parallel()
	p := newPushEnv(t, nil)
	p.subscribe("u-1", "/sub/u-1", p.cfg.Push.PublicKey, "")
	c := p.open("u-1", "", "")
	p.enqueue("u-1")
	p.waitStats("skipped as online", func(s webpush.Stats) bool { return s.SkippedOnline == 1 })
	if got, ok := p.ps.Next(300 * time.Millisecond); ok {
		t.Fatalf("push %s sent to a user with an open stream", got.Plain)
	}
	c.close()
	conns := presence.NewRedis(p.rdb, p.names, time.Now)
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := conns.Count(context.Background(), "u-1"); n > 0; n, _ = conns.Count(context.Background(), "u-1") {
		if time.Now().After(deadline) {
			t.Fatal("presence entry not released after the stream closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	data, _ := p.enqueue("u-1")
	if got, ok := p.ps.Next(5 * time.Second); !ok || string(got.Plain) != string(data) {
		t.Fatalf("after the stream closed: push %v %s", ok, got.Plain)
	}
	if line := p.metric("push_skipped_online_total"); line != "push_skipped_online_total 1" {
		t.Errorf("metric %q", line)
	}
}

// TestPushGoneSubscriptionRemoved: 410 from the push service removes that
// subscription and only that one.
func TestPushGoneSubscriptionRemoved(t *testing.T) {
	t.Parallel()
	p := newPushEnv(t, nil)
	gone := p.subscribe("u-1", "/sub/gone", p.cfg.Push.PublicKey, "", http.StatusGone)
	p.subscribe("u-1", "/sub/alive", p.cfg.Push.PublicKey, "")
	p.enqueue("u-1")
	if got, ok := p.ps.Next(5 * time.Second); !ok || got.Path != "/sub/alive" {
		t.Fatalf("push to the live subscription: %v %q", ok, got.Path)
	}
	p.waitStats("subscription removed", func(s webpush.Stats) bool { return s.Gone == 1 && s.Handled == 1 })
	stored, err := webpush.NewRedisStore(p.rdb, p.names, true).List(context.Background(), "u-1")
	if err != nil || len(stored) != 1 || stored[0].Endpoint == gone.Endpoint {
		t.Errorf("after a 410: %v %v, want only the live subscription", stored, err)
	}
	if line := p.metric("push_subscriptions_removed_total"); line != "push_subscriptions_removed_total 1" {
		t.Errorf("metric %q", line)
	}
}

// TestPushWorkerJoinedByServe: the worker has returned when Serve returns, and nothing
// consumes the queue afterwards.
func TestPushWorkerJoinedByServe(t *testing.T) {
	t.Parallel()
	p := newPushEnv(t, nil)
	p.subscribe("u-1", "/sub/u-1", p.cfg.Push.PublicKey, "")
	p.enqueue("u-1")
	if _, ok := p.ps.Next(5 * time.Second); !ok {
		t.Fatal("worker not running")
	}
	took := p.shutdown()
	select {
	case <-p.srv.push.done:
	default:
		t.Fatal("Serve returned while the push worker was still running")
	}
	t.Logf("Serve returned %v after shutdown began, worker joined", took)
	p.enqueue("u-1")
	time.Sleep(1500 * time.Millisecond) // more than the worker's blocking read
	ctx := context.Background()
	if n, _ := p.rdb.XLen(ctx, p.names.PushQueue()).Result(); n != 1 {
		t.Errorf("queue length %d, want the entry left for another instance", n)
	}
	if pending, err := p.rdb.XPending(ctx, p.names.PushQueue(), "push").Result(); err != nil || pending.Count != 0 {
		t.Errorf("pending %+v %v: a stopped server read the queue", pending, err)
	}
}

// TestPushFollowsPreferences: the worker reads the user's stored preferences: push
// turned off, or the notification's type muted, means no push; push on again means one.
func TestPushFollowsPreferences(t *testing.T) {
	t.Parallel()
	p := newPushEnv(t, nil)
	ctx := context.Background()
	p.subscribe("u-off", "/sub/u-off", p.cfg.Push.PublicKey, "")
	p.subscribe("u-mute", "/sub/u-mute", p.cfg.Push.PublicKey, "")
	if _, err := p.pub.SetPreferences(ctx, "u-off", broker.Prefs{Push: false, MutedTypes: []string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.pub.SetPreferences(ctx, "u-mute", broker.Prefs{Push: true, MutedTypes: []string{"video_complete"}}); err != nil {
		t.Fatal(err)
	}
	p.enqueue("u-off")
	p.enqueue("u-mute")
	p.waitStats("both skipped by preferences", func(s webpush.Stats) bool { return s.SkippedPrefs == 2 })
	if got, ok := p.ps.Next(300 * time.Millisecond); ok {
		t.Fatalf("push %s sent against the user's preferences", got.Path)
	}
	if _, err := p.pub.SetPreferences(ctx, "u-off", broker.Prefs{Push: true, MutedTypes: []string{}}); err != nil {
		t.Fatal(err)
	}
	data, _ := p.enqueue("u-off")
	if got, ok := p.ps.Next(5 * time.Second); !ok || got.Path != "/sub/u-off" || string(got.Plain) != string(data) {
		t.Fatalf("push on again: got %v %s", ok, got.Path)
	}
}
