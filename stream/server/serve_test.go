package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// lingeringBroker's Run takes a while to return after its context ends, as the Redis
// broker's does while it closes its pub/sub connection. It also keeps which logs are
// subscribed: what the hub still holds.
type lingeringBroker struct {
	broker.Broker
	running  chan struct{}
	returned atomic.Bool

	mu         sync.Mutex
	subscribed map[string]bool
}

func (b *lingeringBroker) Subscribe(ctx context.Context, source string) error {
	b.mu.Lock()
	b.subscribed[source] = true
	b.mu.Unlock()
	return b.Broker.Subscribe(ctx, source)
}

func (b *lingeringBroker) Unsubscribe(ctx context.Context, source string) error {
	b.mu.Lock()
	delete(b.subscribed, source)
	b.mu.Unlock()
	return b.Broker.Unsubscribe(ctx, source)
}

// users are the users' own logs subscribed (group and broadcast logs are not users).
func (b *lingeringBroker) users() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var users []string
	for source := range b.subscribed {
		if broker.IsUserSource(source) {
			users = append(users, source)
		}
	}
	return users
}

func (b *lingeringBroker) Run(ctx context.Context, sink broker.Sink) error {
	close(b.running)
	err := b.Broker.Run(ctx, sink)
	time.Sleep(100 * time.Millisecond)
	b.returned.Store(true)
	return err
}

// lingeringPresence's Refresh holds until its context ends, then takes a while more.
type lingeringPresence struct {
	Presence
	refreshing chan struct{}
	refreshed  atomic.Bool
	released   atomic.Int64
}

func (p *lingeringPresence) Refresh(ctx context.Context, conns map[string]string) error {
	select {
	case p.refreshing <- struct{}{}:
	default:
	}
	<-ctx.Done()
	time.Sleep(100 * time.Millisecond)
	p.refreshed.Store(true)
	return ctx.Err()
}

func (p *lingeringPresence) Release(ctx context.Context, user, conn string) error {
	time.Sleep(50 * time.Millisecond) // a slow Redis
	p.released.Add(1)
	return p.Presence.Release(ctx, user, conn)
}

// memoryServer runs a server over the memory broker with b and p wrapped around it.
func memoryServer(t *testing.T, mutate func(*Config)) (*lingeringBroker, *lingeringPresence, *Server, string, context.CancelFunc, chan error) {
	t.Helper()
	mem, err := broker.NewMemory(broker.DefaultLimits, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b := &lingeringBroker{Broker: mem, running: make(chan struct{}), subscribed: map[string]bool{}}
	p := &lingeringPresence{Presence: presence.NewMemory(time.Now), refreshing: make(chan struct{}, 1)}
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	srv, _, err := Build(cfg, Deps{Broker: b, Tickets: ticket.NewMemoryStore(time.Now), Presence: p}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.refreshEvery = 10 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	<-b.running
	return b, p, srv, "http://" + ln.Addr().String(), cancel, served
}

// TestServeJoinsItsGoroutines: when Serve returns, the broker's Run and the presence
// refresh have returned too, so the caller may close the Redis client. Serve used to
// cancel them and return at once.
func TestServeJoinsItsGoroutines(t *testing.T) {
	b, p, _, _, cancel, served := memoryServer(t, nil)
	select {
	case <-p.refreshing:
	case <-time.After(5 * time.Second):
		t.Fatal("presence refresh never ran")
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	served <- nil // for the cleanup
	if !b.returned.Load() {
		t.Error("Serve returned before the broker's Run")
	}
	if !p.refreshed.Load() {
		t.Error("Serve returned before the presence refresh")
	}
}

// TestStreamCloseReleasesEverything: once a stream ends, by the client leaving or by
// shutdown, its presence entry, hub subscription (so the broker's) and admission slot
// are released and its gauge is back to zero — and on shutdown before Serve returns.
func TestStreamCloseReleasesEverything(t *testing.T) {
	b, p, srv, url, cancel, served := memoryServer(t, nil)
	e := &env{t: t, url: url}
	released := func() bool {
		return srv.active.Load() == 0 && len(b.users()) == 0 && len(srv.presenceEntries()) == 0
	}

	c := e.open("ana", "", "")
	if released() {
		t.Fatal("an open stream holds nothing")
	}
	c.close() // the client leaves
	deadline := time.Now().Add(5 * time.Second)
	for !released() || p.released.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after the client left: active %d, subscribed %v, presence %v, released %d",
				srv.active.Load(), b.users(), srv.presenceEntries(), p.released.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}

	e.open("ana", "", "")
	e.open("bo", "", "")
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	served <- nil
	if !released() || p.released.Load() != 3 {
		t.Fatalf("Serve returned before the streams released what they held (presence released %d of 3)", p.released.Load())
	}
}

// TestRefusedStreamReleasesItsSlot: a stream refused part-way (over the user's cap)
// gives back its admission slot and holds nothing.
func TestRefusedStreamReleasesItsSlot(t *testing.T) {
	_, _, srv, url, _, _ := memoryServer(t, func(c *Config) { c.MaxConnsPerUser = 1 })
	e := &env{t: t, url: url}
	e.open("cy", "", "")
	if _, status := e.tryOpen(token(t, "cy", time.Hour), "", ""); status != http.StatusTooManyRequests {
		t.Fatalf("second stream: status %d, want 429", status)
	}
	if n := srv.active.Load(); n != 1 {
		t.Fatalf("%d admission slots taken, want 1", n)
	}
	if n := len(srv.presenceEntries()); n != 1 {
		t.Fatalf("%d presence entries, want 1", n)
	}
}

// TestStreamRefusedOnceShutdownStarted: a stream request that arrives after shutdown
// began is refused with 503 and leaves the stream count alone.
func TestStreamRefusedOnceShutdownStarted(t *testing.T) {
	_, _, srv, _, _, _ := memoryServer(t, nil)
	srv.connsMu.Lock()
	srv.closing = true
	srv.connsMu.Unlock()
	defer func() {
		srv.connsMu.Lock()
		srv.closing = false
		srv.connsMu.Unlock()
	}()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, "dee", time.Hour))
	srv.stream(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if !srv.waitStreams(t.Context()) { // a counter gone negative would have panicked
		t.Fatal("streams still counted")
	}
}
