// Package faults injects failures into a running system — a killed pub/sub connection,
// a restarted Redis, killed and terminated stream processes, stalled clients, an
// out-of-memory Redis, short connection lifetimes — and checks that every tab of every
// user still receives each notification exactly once, in order. Loopback only.
package faults

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/server"
)

const secret = "faults-secret-faults-secret-faults-0"

var streamBin string // bin/stream, built once for the process-level tests

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faults")
	if err != nil {
		panic(err)
	}
	streamBin = filepath.Join(dir, "stream")
	if out, err := exec.Command("go", "build", "-o", streamBin, "github.com/vividly-edu/notifications/stream/cmd/stream").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build bin/stream: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// streamEnv is the environment every stream server of these tests runs with.
func streamEnv(redisAddr string, extra map[string]string) map[string]string {
	// Many servers run on this machine at once: none serves metrics on the default
	// METRICS_ADDR (in-process servers take a free port; see metricsURL).
	env := map[string]string{"JWT_SECRET": secret, "REDIS_ADDR": redisAddr, "LOG_LEVEL": "warn",
		"RATE_LIMIT_PER_IP": "100000", "RATE_LIMIT_BURST": "100000", "MAX_CONNS": "20000",
		"RATE_LIMIT_PER_USER": "100000", "RATE_LIMIT_USER_BURST": "100000", "METRICS_ADDR": "off",
		"SSE_RETRY": "200ms", "DRAIN_TIME": "2s"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startInProcess runs a stream server in this process; it stops at cleanup.
func startInProcess(t *testing.T, redisAddr string, extra map[string]string) string {
	return startInProcessOn(t, redisAddr, extra, 0)
}

// startInProcessOn is startInProcess with the accepted sockets' send buffer set to
// sndbuf bytes (0: the kernel's default). Loopback buffers autotune to megabytes; a
// small one models a congested path to a slow client.
func startInProcessOn(t *testing.T, redisAddr string, extra map[string]string, sndbuf int) string {
	t.Helper()
	env := streamEnv(redisAddr, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	for k, v := range extra {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := server.LoadConfig(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := redisbroker.Open(cfg.Redis, broker.DefaultLimits, redisbroker.Options{PingInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deps, err := server.RedisDeps(ctx, cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := server.Build(cfg, deps, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if sndbuf == 0 {
			return nil
		}
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sndbuf) })
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })
	url := "http://" + ln.Addr().String()
	waitReady(t, url)
	metricsURLs.Store(url, "http://"+srv.MetricsAddr()+"/metrics")
	return url
}

// metricsURLs maps an in-process server's URL to its metrics URL (METRICS_ADDR).
var metricsURLs sync.Map

// metricsURL is where the in-process server at url serves its metrics.
func metricsURL(t *testing.T, url string) string {
	t.Helper()
	m, ok := metricsURLs.Load(url)
	if !ok {
		t.Fatalf("no metrics address for %s", url)
	}
	return m.(string)
}

// proc is a bin/stream process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	addr   string
	exited chan struct{} // closed when the process has exited (any number may wait)
}

func startProcess(t *testing.T, redisAddr string, extra map[string]string) *proc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	env := streamEnv(redisAddr, extra)
	env["PORT"] = port
	cmd := exec.Command(streamBin)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, addr: addr, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	waitReady(t, p.url)
	return p
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready", url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newToken(user string, life time.Duration) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(life).Unix()}).SignedString([]byte(secret))
	return s
}

// tab is one browser tab: an EventSource-like client that reconnects with its last id.
type tab struct {
	user string
	mu   sync.Mutex
	ids  []string
	seen map[string]bool
	got  map[string]time.Time // first arrival of each id

	resets, reconnects atomic.Int64
	openedAt           atomic.Int64  // unix ns of the latest successful open
	connected          chan struct{} // closed on the first successful open
	once               sync.Once
}

func newTab(user string) *tab {
	return &tab{user: user, seen: map[string]bool{}, got: map[string]time.Time{}, connected: make(chan struct{})}
}

// run keeps the tab connected to base() until ctx ends. tokenLife is the life of each
// token it presents (a fresh one per connection, as an app would).
func (tb *tab) run(ctx context.Context, base func() string, tokenLife time.Duration) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	last := ""
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base()+"/api/v1/notifications/stream", nil)
		req.Header.Set("Authorization", "Bearer "+newToken(tb.user, tokenLife))
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			if err == nil {
				resp.Body.Close()
			}
			tb.reconnects.Add(1)
			sleepCtx(ctx, 50*time.Millisecond)
			continue
		}
		last = tb.read(resp.Body, last)
		resp.Body.Close()
		tb.reconnects.Add(1)
		sleepCtx(ctx, 20*time.Millisecond)
	}
}

// read consumes one connection's frames and returns the last id seen.
func (tb *tab) read(body io.Reader, last string) string {
	sc := bufio.NewScanner(body)
	var id, event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == ": ok":
			tb.openedAt.Store(time.Now().UnixNano())
			tb.once.Do(func() { close(tb.connected) })
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case line == "":
			if id != "" {
				last = id // as EventSource does for any frame with an id, events or not
			}
			switch event {
			case "reset":
				tb.resets.Add(1)
			case "video_complete":
				tb.mu.Lock()
				tb.ids = append(tb.ids, id)
				if !tb.seen[id] {
					tb.seen[id] = true
					tb.got[id] = time.Now()
				}
				tb.mu.Unlock()
			}
			id, event = "", ""
		}
	}
	return last
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// fleet is every tab of a test, and what was published to each user.
type fleet struct {
	tabs      []*tab
	mu        sync.Mutex
	published map[string][]string  // user → ids in publish order
	sentAt    map[string]time.Time // by sentKey: ids are per user, so two users' can be equal
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// openFleet connects tabsPerUser tabs for each of users users and waits until all are open.
func openFleet(t *testing.T, users, tabsPerUser int, base func() string, tokenLife time.Duration) *fleet {
	t.Helper()
	return openTabs(t, users, tabsPerUser, func(ctx context.Context, tb *tab) { tb.run(ctx, base, tokenLife) })
}

// openTabs starts tabsPerUser tabs for each of users users, each running run until the
// fleet stops, and waits until all are open.
func openTabs(t *testing.T, users, tabsPerUser int, run func(context.Context, *tab)) *fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleet{published: map[string][]string{}, sentAt: map[string]time.Time{}, cancel: cancel}
	for u := range users {
		for range tabsPerUser {
			tb := newTab(fmt.Sprintf("user-%d", u))
			f.tabs = append(f.tabs, tb)
			f.wg.Add(1)
			go func() { defer f.wg.Done(); run(ctx, tb) }()
		}
	}
	t.Cleanup(f.stop)
	deadline := time.After(60 * time.Second)
	for _, tb := range f.tabs {
		select {
		case <-tb.connected:
		case <-deadline:
			t.Fatal("tabs did not all connect within 60s")
		}
	}
	return f
}

func (f *fleet) stop() { f.cancel(); f.wg.Wait() }

// publisher stores notifications as the function does, retrying through outages (the
// dedupe marker makes a retry after an ambiguous failure safe).
type publisher struct {
	b *redisbroker.Broker
	n atomic.Int64
}

func newPublisher(t *testing.T, addr string) *publisher {
	t.Helper()
	b, err := redisbroker.Open(config.Redis{Addr: addr, KeyPrefix: rediskey.DefaultPrefix}, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &publisher{b: b}
}

func sentKey(user, id string) string { return user + "\x00" + id }

func (p *publisher) publish(t *testing.T, f *fleet, user string) {
	t.Helper()
	msg := fmt.Sprint("m-", p.n.Add(1))
	deadline := time.Now().Add(30 * time.Second)
	start := time.Now()
	for {
		id, _, err := p.b.Publish(context.Background(), user, msg, brokertest.Sample(int(p.n.Load())))
		if err == nil {
			f.mu.Lock()
			f.published[user] = append(f.published[user], id)
			f.sentAt[sentKey(user, id)] = start
			f.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish kept failing: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counts is what one check verified.
type counts struct{ sent, delivered, lost, duplicated, outOfOrder, resets int }

func (c counts) String() string {
	return fmt.Sprintf("sent %d / delivered %d / lost %d / duplicated %d / out of order %d / resets %d",
		c.sent, c.delivered, c.lost, c.duplicated, c.outOfOrder, c.resets)
}

// verify waits until every tab has every notification of its user (or timeout), then
// counts, logs and fails on any loss, duplicate, disorder or reset.
func (f *fleet) verify(t *testing.T, name string, timeout time.Duration) counts {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f.complete() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a late duplicate would show now
	var c counts
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tb := range f.tabs {
		want := f.published[tb.user]
		c.sent += len(want)
		tb.mu.Lock()
		c.delivered += len(tb.ids)
		c.duplicated += len(tb.ids) - len(tb.seen)
		var lost []string
		for _, id := range want {
			if !tb.seen[id] {
				c.lost++
				lost = append(lost, id)
			}
		}
		if len(lost) > 0 {
			t.Logf("%s's tab lost %v (first 5); received %d, reconnected %d times",
				tb.user, lost[:min(5, len(lost))], len(tb.ids), tb.reconnects.Load())
		}
		for i := 1; i < len(tb.ids); i++ {
			a, _ := rediskey.ParseStreamID(tb.ids[i-1])
			b, _ := rediskey.ParseStreamID(tb.ids[i])
			if b.Compare(a) <= 0 {
				c.outOfOrder++
			}
		}
		tb.mu.Unlock()
		c.resets += int(tb.resets.Load())
	}
	line := fmt.Sprintf("FAULT %s: %d tabs: %s", name, len(f.tabs), c)
	t.Log(line)
	fmt.Println(line)
	if c.lost > 0 || c.duplicated > 0 || c.outOfOrder > 0 || c.resets > 0 {
		t.Errorf("delivery was not exact: %s", c)
	}
	return c
}

func (f *fleet) complete() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tb := range f.tabs {
		tb.mu.Lock()
		n := len(tb.seen)
		tb.mu.Unlock()
		if n < len(f.published[tb.user]) {
			return false
		}
	}
	return true
}
