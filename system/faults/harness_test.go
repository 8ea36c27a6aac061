// Package faults injects failures into a running system — a killed pub/sub connection,
// a restarted Redis, killed and terminated stream processes, stalled clients, an
// out-of-memory Redis, short connection lifetimes, a slow link to Redis — and checks
// that every tab still receives each notification of its audience (its user's own, its
// groups', the broadcasts) exactly once, in creation order, and nothing else (audit).
// Loopback only.
package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// startProcess starts bin/stream and waits until it is ready. The port is picked free
// (freePort) and then handed to the process, so another program may take it in
// between: a process that exits before it is ready is started again on another port.
func startProcess(t *testing.T, redisAddr string, extra map[string]string) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p := launchProcess(t, redisAddr, extra)
		if ready(p.url, p.exited) {
			return p
		}
		select {
		case <-p.exited:
			if attempt < 3 {
				continue
			}
		default:
		}
		t.Fatalf("%s not ready", p.url)
	}
}

// freePort returns a port that bin/stream can listen on (it listens on every address,
// ":PORT"), taken below the kernel's ephemeral range when it can be: with load tests
// running beside the suite, ports of that range offered by 127.0.0.1:0 were often
// taken again before the process listened ("address already in use").
func freePort(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	for range 50 {
		if low <= 12000 {
			break
		}
		port := strconv.Itoa(10000 + rand.IntN(low-10000))
		if ln, err := net.Listen("tcp", ":"+port); err == nil {
			ln.Close()
			return port
		}
	}
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func launchProcess(t *testing.T, redisAddr string, extra map[string]string) *proc {
	t.Helper()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", port)
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
	return p
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	if !ready(url, nil) {
		t.Fatalf("%s not ready", url)
	}
}

// ready waits up to 10 s for url's /readyz to answer 200, giving up early when exited
// is closed.
func ready(url string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-exited:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// newToken signs a token for user; groups, when there are any, go into its groups claim
// (JWT_GROUPS_CLAIM's default), and the stream then reads those groups' logs too.
func newToken(user string, groups []string, life time.Duration) string {
	claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(life).Unix()}
	if len(groups) > 0 {
		claims["groups"] = groups
	}
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	return s
}

// tab is one browser tab: an EventSource-like client that reconnects with its last id
// (the SSE id: the stream's cursor, opaque to the tab).
type tab struct {
	user   string
	groups []string // its tokens' groups claim
	mu     sync.Mutex
	ids    []string             // the notification ids (the data's "id") in arrival order
	seen   map[string]bool      // the distinct ones
	got    map[string]time.Time // first arrival of each id
	// mangle, when set, rewrites the last id before the tab resumes with it: a client
	// that breaks the cursor, for the checker's own test (TestFaultChecker...).
	mangle func(string) string

	resets, reconnects atomic.Int64
	openedAt           atomic.Int64  // unix ns of the latest successful open
	connected          chan struct{} // closed on the first successful open
	once               sync.Once
}

func newTab(user string, groups []string) *tab {
	return &tab{user: user, groups: groups, seen: map[string]bool{}, got: map[string]time.Time{}, connected: make(chan struct{})}
}

// resumeFrom is the Last-Event-ID the tab sends: its last id (mangled, for a broken
// client).
func (tb *tab) resumeFrom(last string) string {
	if tb.mangle != nil && last != "" {
		return tb.mangle(last)
	}
	return last
}

// run keeps the tab connected to base() until ctx ends. tokenLife is the life of each
// token it presents (a fresh one per connection, as an app would).
func (tb *tab) run(ctx context.Context, base func() string, tokenLife time.Duration) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	last := ""
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base()+"/api/v1/notifications/stream", nil)
		req.Header.Set("Authorization", "Bearer "+newToken(tb.user, tb.groups, tokenLife))
		if from := tb.resumeFrom(last); from != "" {
			req.Header.Set("Last-Event-ID", from)
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

// read consumes one connection's frames and returns the last id seen. Every
// notification frame (any event but reset and read) is recorded by the id in its data.
func (tb *tab) read(body io.Reader, last string) string {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var id, event, data string
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
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		case line == "":
			if id != "" {
				last = id // as EventSource does for any frame with an id, events or not
			}
			switch event {
			case "reset":
				tb.resets.Add(1)
			case "", "read":
			default:
				var n struct {
					ID string `json:"id"`
				}
				if json.Unmarshal([]byte(data), &n) != nil || n.ID == "" {
					n.ID = "unreadable " + event + " frame: " + data // counted as foreign
				}
				tb.mu.Lock()
				tb.ids = append(tb.ids, n.ID)
				if !tb.seen[n.ID] {
					tb.seen[n.ID] = true
					tb.got[n.ID] = time.Now()
				}
				tb.mu.Unlock()
			}
			id, event, data = "", "", ""
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

// fleet is every tab of a test, and what was published to each log.
type fleet struct {
	tabs      []*tab
	mu        sync.Mutex
	published map[string][]string  // log (a user id, "@<group>", "!all") → ids in publish order
	sentAt    map[string]time.Time // by sentKey: a user's ids are plain positions, so two users' can be equal
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// openFleet connects tabsPerUser tabs for each of users users and waits until all are
// open. user-u's tokens name groupsOf(u).
func openFleet(t *testing.T, users, tabsPerUser int, base func() string, tokenLife time.Duration) *fleet {
	t.Helper()
	return openTabs(t, users, tabsPerUser, func(ctx context.Context, tb *tab) { tb.run(ctx, base, tokenLife) })
}

// openTabs starts tabsPerUser tabs for each of users users (user-u in groupsOf(u)), each
// running run until the fleet stops, and waits until all are open.
func openTabs(t *testing.T, users, tabsPerUser int, run func(context.Context, *tab)) *fleet {
	t.Helper()
	return openTabsWith(t, users, tabsPerUser, nil, run)
}

// openTabsWith is openTabs with setup applied to each tab before it starts.
func openTabsWith(t *testing.T, users, tabsPerUser int, setup func(*tab), run func(context.Context, *tab)) *fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleet{published: map[string][]string{}, sentAt: map[string]time.Time{}, cancel: cancel}
	for u := range users {
		for range tabsPerUser {
			tb := newTab(fmt.Sprintf("user-%d", u), groupsOf(u))
			if setup != nil {
				setup(tb)
			}
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

// want is what tb must receive: for each log of its audience (its user's own as
// ownLog, the broadcast log, its groups'), the ids published there. f.mu held.
func (f *fleet) want(tb *tab) map[string][]string {
	w := map[string][]string{}
	for _, log := range logsOf(tb.groups) {
		source := log
		if log == ownLog {
			source = tb.user
		}
		if ids := f.published[source]; len(ids) > 0 {
			w[log] = ids
		}
	}
	return w
}

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

func sentKey(source, id string) string { return source + "\x00" + id }

// publish stores a job notification for user.
func (p *publisher) publish(t *testing.T, f *fleet, user string) {
	t.Helper()
	p.publishTo(t, f, user)
}

// publishMixed is the i-th step of a mixed run: a job notification for user, and at
// some steps (mixedExtra) an announcement for a group or for everyone.
func (p *publisher) publishMixed(t *testing.T, f *fleet, i int, user string) {
	t.Helper()
	p.publish(t, f, user)
	if source, ok := mixedExtra(i); ok {
		p.publishTo(t, f, source)
	}
}

// publishTo stores a notification in source's log: a job notification for a user, an
// announcement for a group ("@<group>") or for everyone ("!all"), as the function's
// entry points store them.
func (p *publisher) publishTo(t *testing.T, f *fleet, source string) {
	t.Helper()
	k := int(p.n.Add(1))
	msg := fmt.Sprint("m-", k)
	n := brokertest.Sample(k)
	if !broker.IsUserSource(source) {
		n = announcement(source, k)
	}
	deadline := time.Now().Add(30 * time.Second)
	start := time.Now()
	for {
		id, _, err := p.b.Publish(context.Background(), source, msg, n)
		if err == nil {
			f.mu.Lock()
			f.published[source] = append(f.published[source], id)
			f.sentAt[sentKey(source, id)] = start
			f.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish kept failing: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counts is what one check verified, summed over the tabs (see tabAudit).
type counts struct {
	// sent counts each notification once per tab that must receive it: own, group and
	// broadcast ones.
	sent, own, group, broadcast int
	delivered                   int // notification frames received
	lost, duplicated, foreign   int
	outOfOrder, crossOrder      int // within a log; across logs
	resets                      int
}

func (c counts) String() string {
	return fmt.Sprintf("sent %d (own %d, group %d, broadcast %d) / delivered %d / lost %d / duplicated %d / foreign %d / out of order %d (across logs %d) / resets %d",
		c.sent, c.own, c.group, c.broadcast, c.delivered, c.lost, c.duplicated, c.foreign, c.outOfOrder, c.crossOrder, c.resets)
}

func (c counts) failed() bool {
	return c.lost > 0 || c.duplicated > 0 || c.foreign > 0 || c.outOfOrder > 0 || c.crossOrder > 0 || c.resets > 0
}

// verify waits until every tab has every notification of its audience (or timeout),
// then counts, logs and fails on any loss, duplicate, stray, disorder or reset.
func (f *fleet) verify(t *testing.T, name string, timeout time.Duration) counts {
	t.Helper()
	c := f.check(t, timeout)
	line := fmt.Sprintf("FAULT %s: %d tabs: %s", name, len(f.tabs), c)
	t.Log(line)
	fmt.Println(line)
	if c.failed() {
		t.Errorf("delivery was not exact: %s", c)
	}
	return c
}

// check waits like verify and returns what it counted, logging each tab's problems
// (the first few).
func (f *fleet) check(t *testing.T, timeout time.Duration) counts {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f.complete() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a late duplicate would show now
	var c counts
	f.mu.Lock()
	defer f.mu.Unlock()
	logged := 0
	for _, tb := range f.tabs {
		a := f.audit(tb)
		c.add(a, tb)
		if a.failed() && logged < 10 {
			logged++
			t.Logf("%s's tab (groups %v): %v; received %d, reconnected %d times", tb.user, tb.groups, a.problems,
				a.received, tb.reconnects.Load())
		}
	}
	return c
}

// audit checks what tb received against what its audience was sent. f.mu held.
func (f *fleet) audit(tb *tab) tabAudit {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return audit(tb.ids, f.want(tb))
}

// add counts tb's audit a into c.
func (c *counts) add(a tabAudit, tb *tab) {
	c.own += a.wanted["own"]
	c.group += a.wanted["group"]
	c.broadcast += a.wanted["broadcast"]
	c.sent = c.own + c.group + c.broadcast
	c.delivered += a.received
	c.lost += a.lost
	c.duplicated += a.duplicated
	c.foreign += a.foreign
	c.outOfOrder += a.outOfOrder
	c.crossOrder += a.crossOrder
	c.resets += int(tb.resets.Load())
}

// complete reports whether every tab has received as many distinct notifications as
// its audience was sent.
func (f *fleet) complete() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tb := range f.tabs {
		n := 0
		for _, ids := range f.want(tb) {
			n += len(ids)
		}
		tb.mu.Lock()
		have := len(tb.seen)
		tb.mu.Unlock()
		if have < n {
			return false
		}
	}
	return true
}
