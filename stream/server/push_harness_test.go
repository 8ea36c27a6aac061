package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
	"github.com/vividly-edu/notifications/stream/internal/webpush/webpushtest"
)

const pushSubject = "mailto:push-tests@vividly.example"

// pushEnv is a stream server with Web Push on, wired as in production (RedisDeps over a
// Redis broker under the test's own prefix), and a loopback push-service stand-in.
type pushEnv struct {
	*env
	ps  *webpushtest.Service
	cfg Config
	fn  *redisbroker.Broker // the function's writer, queueing for push
}

// newPushEnv starts a server with a fresh VAPID key pair; mutate adjusts its config.
func newPushEnv(t *testing.T, mutate func(*Config)) *pushEnv {
	t.Helper()
	names := rediskey.Names{Prefix: fmt.Sprintf("s%d", prefixes.Add(1))}
	e := &env{t: t, names: names}
	e.rdb, e.pub = newBroker(t, names)
	cfg := testConfig()
	cfg.Redis.KeyPrefix = config.KeyPrefix(names.Prefix)
	pub, priv := vapidPair(t)
	cfg.Push = webpush.Config{PublicKey: pub, PrivateKey: priv, Subject: pushSubject, AllowLoopback: true,
		TTL: 24 * time.Hour, Window: time.Minute, Concurrency: 16}
	if mutate != nil {
		mutate(&cfg)
	}
	p := &pushEnv{env: e, ps: webpushtest.New(t, pushSubject), cfg: cfg}
	p.startPush()
	return p
}

// startPush runs a server with p.cfg as bin/stream does: RedisDeps, Build, Serve.
func (p *pushEnv) startPush() {
	t := p.t
	t.Helper()
	_, b := newBroker(t, p.names)
	deps, err := RedisDeps(context.Background(), p.cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := Build(p.cfg, deps, p.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.url, p.srv, p.stop, p.served = "http://"+ln.Addr().String(), srv, cancel, make(chan error, 1)
	go func() { p.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { p.shutdown() })
	p.waitReady()
}

func vapidPair(t testing.TB) (string, config.Secret) {
	t.Helper()
	pub, priv, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return pub, config.Secret(priv)
}

// call sends an API request with a Bearer token for user ("" for none) and returns the
// status and body.
func (p *pushEnv) call(method, path, user, body string) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(p.t, user, time.Hour))
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const subsPath = "/api/v1/notifications/push/subscriptions"

// subJSON is a browser's PushSubscription.toJSON(), with extra fields appended (as
// `,"public_key":"…"`).
func subJSON(s webpushtest.Subscription, extra string) string {
	return fmt.Sprintf(`{"endpoint":%q,"expirationTime":null,"keys":{"p256dh":%q,"auth":%q}%s}`,
		s.Endpoint, s.P256dh, s.Auth, extra)
}

// subscribe makes a subscription at the stand-in bound to vapidKey (the key the
// browser subscribed with) and posts it for user; it fails the test unless 201.
func (p *pushEnv) subscribe(user, path, vapidKey, extra string, statuses ...int) webpushtest.Subscription {
	p.t.Helper()
	s := p.ps.Subscribe(path, vapidKey, statuses...)
	if code, body := p.call(http.MethodPost, subsPath, user, subJSON(s, extra)); code != http.StatusCreated {
		p.t.Fatalf("subscribe %s: %d %s", path, code, body)
	}
	return s
}

// enqueue stores a notification for user and queues it for push exactly as the
// function does, returning its JSON (the SSE data) and when it was queued.
func (p *pushEnv) enqueue(user string) ([]byte, time.Time) {
	p.t.Helper()
	// Published as the function publishes with PUSH_ENABLED: the write script, then
	// the queue entry (redisbroker Options.EnqueuePush).
	if p.fn == nil {
		rdb, err := redisbroker.NewClient(config.Redis{Addr: redisSrv.Addr})
		if err != nil {
			p.t.Fatal(err)
		}
		p.t.Cleanup(func() { rdb.Close() })
		p.fn, err = redisbroker.New(rdb, p.names, broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour},
			redisbroker.Options{EnqueuePush: true})
		if err != nil {
			p.t.Fatal(err)
		}
	}
	at := time.Now()
	n := brokertest.Sample(int(msgSeq.Add(1)))
	id, _, err := p.fn.Publish(context.Background(), user, fmt.Sprint("msg-", msgSeq.Load()), n)
	if err != nil {
		p.t.Fatal(err)
	}
	body, _ := n.Body()
	return notification.WithID(id, body), at
}

// stats is the running server's push worker's counters.
func (p *pushEnv) stats() webpush.Stats { return p.srv.push.worker.Stats() }

// waitStats waits until ok holds for the worker's counters.
func (p *pushEnv) waitStats(what string, ok func(webpush.Stats) bool) {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(p.stats()) {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: worker stats %+v", what, p.stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric returns the line of the named metric in the server's /metrics text.
func (p *pushEnv) metric(name string) string {
	rec := httptest.NewRecorder()
	p.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, name+" ") {
			return line
		}
	}
	return ""
}
