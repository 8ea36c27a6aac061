package server

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// TestEveryRouteLogsItsTrace: every API route in apiRoutes, and the stream, served
// through Handler with its store down, logs its failure with the request's trace —
// so each ran under withTrace and logged under r.Context(). A route registered outside
// the middleware, or a handler logging under a context of its own, fails here.
func TestEveryRouteLogsItsTrace(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "") // FCM_ENDPOINT without ADC: no OAuth
	srv, logs := deadStoreServer(t)
	h := srv.Handler()
	bodies := traceBodies(t)
	tok := roomToken(t, "u-trace", time.Hour, true, "g1") // a teacher of g1: receipts too
	routes := append(srv.apiRoutes(), apiRoute{pattern: "GET " + streamPath})
	for i, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		traceID := fmt.Sprintf("%032x", i+1)
		req := httptest.NewRequest(method, path+queries[rt.pattern], strings.NewReader(bodies[rt.pattern]))
		req.Header.Set("Authorization", "Bearer "+tok)
		if i%2 == 0 { // both headers withTrace reads
			req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		} else {
			req.Header.Set("X-Cloud-Trace-Context", traceID+"/1;o=1")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s: %d %s, want 503 from the store being down", rt.pattern, w.Code, w.Body)
			continue
		}
		want := "projects/p/traces/" + traceID
		if !loggedFailure(logs.String(), rt.pattern, want) {
			t.Errorf("%s: no failure logged with trace %s", rt.pattern, want)
		}
	}
}

// queries and traceBodies make each route's request valid, so it reaches the store.
var queries = map[string]string{
	"GET /api/v1/receipts": "?notification=" + broker.ItemID("@g1", rediskey.StreamID{Ms: 1}),
}

func traceBodies(t *testing.T) map[string]string {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	sub := fmt.Sprintf(`{"endpoint":"https://updates.push.services.mozilla.com/wpush/v2/trace","keys":{"p256dh":%q,"auth":%q}}`,
		b64(key.PublicKey().Bytes()), b64(make([]byte, 16)))
	device := `{"token":"fcm-token-1","platform":"android"}`
	ids := `{"ids":["` + broker.ItemID("@g1", rediskey.StreamID{Ms: 1}) + `"]}`
	return map[string]string{
		"POST /api/v1/notifications/read":                 `{"all":true}`,
		"POST /api/v1/notifications/seen":                 `{"all":true}`,
		"POST /api/v1/notifications/archive":              ids,
		"POST /api/v1/notifications/unarchive":            ids,
		"POST /api/v1/notifications/unread":               ids,
		"PUT /api/v1/notifications/preferences":           `{"muted_types":[],"push":true}`,
		"POST /api/v1/notifications/push/subscriptions":   sub,
		"DELETE /api/v1/notifications/push/subscriptions": sub,
		"POST /api/v1/notifications/push/devices":         device,
		"DELETE /api/v1/notifications/push/devices":       device,
	}
}

// deadStoreServer is a server wired as in production (RedisDeps: tickets, presence,
// privacy, Web Push and FCM on) whose Redis refuses every connection, logging as in
// Cloud Run (logging.New: the trace field) into the returned buffer.
func deadStoreServer(t *testing.T) (*Server, *syncBuffer) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: every command fails at once
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	b, err := redisbroker.New(rdb, rediskey.Names{Prefix: "trace"},
		broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour}, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	pub, priv := vapidPair(t)
	cfg.Push = webpush.Config{PublicKey: pub, PrivateKey: priv, Subject: pushSubject, TTL: time.Hour,
		Window: time.Minute, Concurrency: 1}
	cfg.FCM = fcm.Config{ProjectID: "vividly-test", Endpoint: "http://" + addr, Concurrency: 1}
	deps, err := RedisDeps(context.Background(), cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deps.Push.Redis.Close() })
	logs := &syncBuffer{}
	srv, _, err := Build(cfg, deps, logging.New(logs, nil, "p"))
	if err != nil {
		t.Fatal(err)
	}
	return srv, logs
}

// loggedFailure reports whether logs hold an ERROR line of a failure on route carrying
// trace. API routes log their pattern; the stream, registered for every method, its path.
func loggedFailure(logs, route, trace string) bool {
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["severity"] != "ERROR" {
			continue
		}
		r, _ := l["route"].(string)
		if (r == route || "GET "+r == route) && l["logging.googleapis.com/trace"] == trace {
			return true
		}
	}
	return false
}
