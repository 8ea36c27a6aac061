package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

const secret = "server-test-secret-0123456789abcdef"

var (
	redisSrv *redistest.Server
	prefixes atomic.Int64
	// testCluster, with REDIS_TEST_MODE=cluster, is a local Redis Cluster (3 masters,
	// 3 replicas) every newBroker runs on instead of redisSrv: `make test-cluster` runs
	// the stream, cursor and read-state tests so.
	testCluster *redistest.Cluster
)

func TestMain(m *testing.M) {
	var dir string
	if os.Getenv("REDIS_TEST_MODE") == "cluster" {
		var err error
		if dir, err = os.MkdirTemp("", "server-cluster"); err == nil {
			testCluster, err = redistest.StartClusterProcess(dir, redistest.ClusterOptions{})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := redistest.Main(m, func(s *redistest.Server) { redisSrv = s })
	if testCluster != nil {
		testCluster.Stop()
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

func testConfig() Config {
	return Config{JWTSecret: config.Secret(secret), JWTUserClaim: "sub", Heartbeat: 15 * time.Second,
		MaxConnAge: time.Hour, RetryHint: time.Second, WriteTimeout: 5 * time.Second, QueueSize: 64, QueueBytes: 1 << 20, DrainTime: 200 * time.Millisecond,
		TicketTTL: time.Minute, MaxConnsPerUser: 100, MaxConns: 10000, RateLimitPerIP: 1000, RateLimitBurst: 1000,
		RateLimitPerUser: 1000, RateLimitUserBurst: 1000,
		RequestTimeout: 5 * time.Second, ReadHeaderTimeout: 5 * time.Second, AuthCookie: "vividly_session", AllowedOrigins: []string{"https://app.example"}}
}

// env is one test's system: a Redis broker under its own prefix (the function's writer
// included) and a running stream server.
type env struct {
	t       *testing.T
	logs    syncBuffer          // every log line the servers wrote
	tickets ticket.Store        // replaces the Redis ticket store when set
	rooms   *RoomsDeps          // turns rooms on when set
	privacy Privacy             // turns receipts and export on when set
	pub     *redisbroker.Broker // the function's side
	rdb     redis.UniversalClient
	names   rediskey.Names
	url     string
	srv     *Server // the latest started
	stop    context.CancelFunc
	served  chan error
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	names := rediskey.Names{Prefix: fmt.Sprintf("s%d", prefixes.Add(1))}
	e := &env{t: t, names: names}
	e.rdb, e.pub = newBroker(t, names)
	e.names = e.pub.Names() // Sharded on a cluster
	e.start(mutate)
	return e
}

func newBroker(t *testing.T, names rediskey.Names) (redis.UniversalClient, *redisbroker.Broker) {
	t.Helper()
	cfg := config.Redis{Addr: redisSrv.Addr}
	if testCluster != nil {
		cfg = config.Redis{Mode: config.ModeCluster, Addr: strings.Join(testCluster.Seeds, ",")}
	}
	rdb, err := redisbroker.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	b, err := redisbroker.New(rdb, names, broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour},
		redisbroker.Options{PingInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return rdb, b
}

// start runs a stream server (a fresh broker connection, as a new process would have).
func (e *env) start(mutate func(*Config)) {
	e.t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	_, b := newBroker(e.t, e.names)
	deps := Deps{Broker: b, Tickets: ticket.NewRedisStore(b.Client(), e.names), Presence: presence.NewRedis(b.Client(), e.names, time.Now)}
	if e.tickets != nil {
		deps.Tickets = e.tickets
	}
	deps.Rooms = e.rooms
	deps.Privacy = e.privacy
	deps.Members = redisbroker.NewMembers(b.Client(), e.names, time.Now) // as RedisDeps
	deps.Schedule = redisbroker.NewSchedule(b.Client(), e.names)         // under the env's prefix: its own
	deps.Publisher = b
	srv, _, err := Build(cfg, deps, e.logger())
	if err != nil {
		e.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.url, e.srv, e.stop, e.served = "http://"+ln.Addr().String(), srv, cancel, make(chan error, 1)
	go func() { e.served <- srv.Serve(ctx, ln) }()
	e.t.Cleanup(func() { e.shutdown() })
	e.waitReady()
}

func (e *env) waitReady() {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(e.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// shutdown stops the server as SIGTERM does and returns how long Serve took to return.
func (e *env) shutdown() time.Duration {
	if e.stop == nil {
		return 0
	}
	start := time.Now()
	e.stop()
	e.stop = nil
	select {
	case <-e.served:
	case <-time.After(15 * time.Second):
		e.t.Error("Serve did not return within 15s of shutdown")
	}
	return time.Since(start)
}

var msgSeq atomic.Int64

// publish stores one notification for user as the function does and returns its id.
func (e *env) publish(user string) string {
	e.t.Helper()
	id, _, err := e.pub.Publish(context.Background(), user, fmt.Sprint("msg-", msgSeq.Add(1)), brokertest.Sample(int(msgSeq.Load())))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func token(t testing.TB, user string, exp time.Duration) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(exp).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// groupToken is token with a groups claim (JWT_GROUPS_CLAIM's default name) listing
// groups.
func groupToken(t testing.TB, user string, exp time.Duration, groups ...string) string {
	t.Helper()
	list := make([]any, len(groups))
	for i, g := range groups {
		list[i] = g
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(exp).Unix(), "groups": list}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrokerMatchesTestMode: the tests' broker is the one REDIS_TEST_MODE asks for, so
// a cluster run cannot pass on the single server by mistake.
func TestBrokerMatchesTestMode(t *testing.T) {
	rdb, _ := newBroker(t, rediskey.Names{Prefix: fmt.Sprintf("s%d", prefixes.Add(1))})
	_, onCluster := rdb.(*redis.ClusterClient)
	if want := os.Getenv("REDIS_TEST_MODE") == "cluster"; onCluster != want {
		t.Fatalf("broker client %T; REDIS_TEST_MODE=%q", rdb, os.Getenv("REDIS_TEST_MODE"))
	}
}
