package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// instance is one stream server over a given Redis, with the presence it is given.
type instance struct {
	*env
	srv  *Server
	stop func()
}

// startInstance runs a stream server over the Redis at addr (keys under names) with
// presence p, refreshing it every refresh.
func startInstance(t *testing.T, addr string, names rediskey.Names, p func(redis.UniversalClient) Presence,
	refresh time.Duration, mutate func(*Config)) *instance {
	t.Helper()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	// The pub/sub connection's keep-alive PING is the only command an idle broker sends.
	b, err := redisbroker.New(rdb, names, broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour},
		redisbroker.Options{PingInterval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.MaxConnsPerUser = 2
	if mutate != nil {
		mutate(&cfg)
	}
	srv, _, err := Build(cfg, Deps{Broker: b, Tickets: ticket.NewRedisStore(rdb, names), Presence: p(rdb)},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.refreshEvery = refresh
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	e := &env{t: t, url: "http://" + ln.Addr().String()}
	e.waitReady()
	return &instance{env: e, srv: srv, stop: stop}
}

// TestIdleStreamsPresenceCommands: 200 idle streams of 200 users cost Redis a few
// commands per presence refresh, not two per stream (ZADD XX + PEXPIRE each, 400 per
// refresh before). Counted by the server itself (INFO commandstats) on a private
// redis-server, refreshing every 100 ms instead of 10 s to see 20 rounds in 2 s.
func TestIdleStreamsPresenceCommands(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t, redistest.Options{})
	names := rediskey.Names{Prefix: "idle"}
	const streams, refresh, window = 200, 100 * time.Millisecond, 2 * time.Second
	in := startInstance(t, rs.Addr, names, func(rdb redis.UniversalClient) Presence {
		return presence.NewRedis(rdb, names, time.Now)
	}, refresh, nil)
	for i := range streams {
		in.open(fmt.Sprint("idle-", i), "", "")
	}
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(window)
	stats := commandStats(t, admin)
	total := 0
	for name, n := range stats {
		if name != "ping" && name != "info" && name != "config|resetstat" {
			total += n
		}
	}
	rounds := int(window / refresh)
	perConn := float64(total) / float64(rounds) / streams
	t.Logf("%d idle streams, %d refresh rounds: %d commands (%.3f per stream per round): %v",
		streams, rounds, total, perConn, stats)
	// Per stream per round: 2 before; now ~3 per instance + one key in 120 per round.
	if limit := 2 * streams * rounds / 10; total > limit {
		t.Errorf("%d commands for %d idle streams over %d refresh rounds, want at most %d (a tenth of the per-stream refresh)",
			total, streams, rounds, limit)
	}
}

// commandStats reads INFO commandstats: command → calls.
func commandStats(t *testing.T, rdb redis.UniversalClient) map[string]int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		out[name], _ = strconv.Atoi(calls)
	}
	return out
}

// dyingPresence stops calling Redis once killed, as a process that is gone does: no
// release, no refresh.
type dyingPresence struct {
	Presence
	killed atomic.Bool
	rounds atomic.Int64 // refreshes done while alive
}

func (p *dyingPresence) Refresh(ctx context.Context, conns map[string]string) error {
	if p.killed.Load() {
		return nil
	}
	defer p.rounds.Add(1)
	return p.Presence.Refresh(ctx, conns)
}

func (p *dyingPresence) Release(ctx context.Context, user, conn string) error {
	if p.killed.Load() {
		return nil
	}
	return p.Presence.Release(ctx, user, conn)
}

// waitRounds waits until p has refreshed twice more (so once after the clock moved).
func (p *dyingPresence) waitRounds(t *testing.T) {
	t.Helper()
	want := p.rounds.Load() + 2
	for deadline := time.Now().Add(5 * time.Second); p.rounds.Load() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no presence refresh within 5s")
		}
	}
}

// testClock is a clock the test moves.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// TestKilledInstanceFreesTheCap: instance A holds a user's two streams (the cap) for
// minutes, longer than an entry's own TTL, because it refreshes; then it dies without
// releasing anything. Instance B refuses the user's third stream until presence.TTL
// after A's last refresh, and admits it then; Web Push's count (presence read by
// another client) sees A's streams gone at the same moment. Presence time is a clock
// the test moves; the refreshes run every 20 ms of real time.
func TestKilledInstanceFreesTheCap(t *testing.T) {
	t.Parallel()
	names := rediskey.Names{Prefix: fmt.Sprintf("s%d", prefixes.Add(1))}
	clock := &testClock{}
	clock.ns.Store(time.Now().UnixNano())
	dying := &dyingPresence{}
	a := startInstance(t, redisSrv.Addr, names, func(rdb redis.UniversalClient) Presence {
		dying.Presence = presence.NewRedis(rdb, names, clock.now)
		return dying
	}, 20*time.Millisecond, nil)
	b := startInstance(t, redisSrv.Addr, names, func(rdb redis.UniversalClient) Presence {
		return presence.NewRedis(rdb, names, clock.now)
	}, 20*time.Millisecond, nil)
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	defer rdb.Close()
	push := online(presence.NewRedis(rdb, names, clock.now))
	ctx := context.Background()

	tok := token(t, "kim", time.Hour)
	a.open("kim", "", "")
	a.open("kim", "", "")
	over := func(when string, want int) {
		t.Helper()
		if c, status := b.tryOpen(tok, "", ""); status != want {
			t.Fatalf("%s: third stream on B: %d, want %d", when, status, want)
		} else if c != nil {
			c.close()
		}
	}
	over("A alive", http.StatusTooManyRequests)
	for range 6 { // two minutes of A's life
		clock.add(20 * time.Second)
		dying.waitRounds(t)
	}
	over("A alive after 2 minutes", http.StatusTooManyRequests)
	if on, err := push.Online(ctx, "kim"); !on || err != nil {
		t.Fatalf("Web Push sees kim offline while A holds her streams (%v)", err)
	}

	dying.killed.Store(true) // right after a refresh: A's lease runs presence.TTL from now
	a.stop()
	clock.add(presence.TTL - time.Second)
	over(fmt.Sprintf("%s after A died", presence.TTL-time.Second), http.StatusTooManyRequests)
	clock.add(time.Second)
	if on, err := push.Online(ctx, "kim"); on || err != nil {
		t.Fatalf("Web Push sees kim online %s after A died (%v)", presence.TTL, err)
	}
	over(fmt.Sprintf("%s after A died", presence.TTL), http.StatusOK)
}
