package webpush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

var redisSrv *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.Main(m, func(s *redistest.Server) { redisSrv = s }))
}

var prefixes atomic.Int64

const testSubject = "mailto:push-tests@vividly.example"

// newRedis returns a client of the shared test server and a key prefix of the test's own.
func newRedis(t testing.TB) (*redis.Client, rediskey.Names) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb, rediskey.Names{Prefix: fmt.Sprint("t", prefixes.Add(1))}
}

// testConfig is a valid configuration with fresh keys and loopback endpoints allowed.
func testConfig(t testing.TB) Config {
	t.Helper()
	pub, priv, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return Config{PublicKey: pub, PrivateKey: config.Secret(priv), Subject: testSubject, AllowLoopback: true,
		TTL: 24 * time.Hour, Window: time.Minute, Concurrency: 64}
}

// users is a fake of presence and preferences.
type users struct {
	mu     sync.Mutex
	online map[string]bool
	prefs  map[string]PushPrefs
	fail   int // the next fail presence checks fail, as when Redis is down
}

func (u *users) Online(_ context.Context, user string) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail > 0 {
		u.fail--
		return false, errors.New("presence: connection refused")
	}
	return u.online[user], nil
}

func (u *users) PushPrefs(_ context.Context, user string) (PushPrefs, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.prefs[user], nil
}

// env is one Worker on its own queue, with a push-service stand-in.
type env struct {
	t      testing.TB
	rdb    *redis.Client
	queue  string
	store  *RedisStore
	users  *users
	ps     *pushService
	cfg    Config
	worker *Worker
}

// newEnv builds an env; tune adjusts the worker options. env.run starts the Worker.
func newEnv(t testing.TB, tune func(*WorkerOptions)) *env {
	t.Helper()
	rdb, names := newRedis(t)
	cfg := testConfig(t)
	e := &env{t: t, rdb: rdb, queue: names.Prefix + ":{push}", store: NewRedisStore(rdb, names, true),
		users: &users{online: map[string]bool{}, prefs: map[string]PushPrefs{}}, cfg: cfg}
	e.ps = newPushService(t, cfg.PublicKey, cfg.Subject)
	opts := WorkerOptions{Queue: e.queue, Window: cfg.Window, TTL: cfg.TTL, Concurrency: cfg.Concurrency,
		Backoff: 50 * time.Millisecond, Tick: 50 * time.Millisecond, Block: 200 * time.Millisecond,
		Drain: 100 * time.Millisecond, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if tune != nil {
		tune(&opts)
	}
	e.worker = e.newWorker(opts)
	return e
}

func (e *env) newWorker(opts WorkerOptions) *Worker {
	sender, err := NewSender(e.cfg, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := NewWorker(e.rdb, e.store, sender, e.users, e.users, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// run starts w until the test ends.
func (e *env) run(w *Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// subscribe gives user a subscription at the stand-in's path.
func (e *env) subscribe(user, path string, statuses ...int) Subscription {
	return e.subscribeAt(e.ps, user, path, statuses...)
}

// subscribeAt gives user a subscription at another push service.
func (e *env) subscribeAt(ps *pushService, user, path string, statuses ...int) Subscription {
	s := ps.subscribe(path, statuses...)
	if err := e.store.Add(context.Background(), user, s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// enqueue queues a notification for user as the function would and returns its JSON.
func (e *env) enqueue(user, id, typ string) []byte {
	data := fmt.Appendf(nil, `{"id":%q,"type":%q,"request_id":"r-%s","video_url":"https://cdn.example/v/r-%s.mp4",`+
		`"title":"Photosynthesis","created_at":"2026-11-26T16:30:45.123Z"}`, id, typ, id, id)
	if _, err := Enqueue(context.Background(), e.rdb, e.queue, user, data); err != nil {
		e.t.Fatal(err)
	}
	return data
}

// waitHandled waits until the worker finished n entries.
func (e *env) waitHandled(w *Worker, n uint64) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.Stats().Handled < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("handled %d entries, want %d: %+v", w.Stats().Handled, n, w.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }
