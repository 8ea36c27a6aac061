package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/server"
)

func TestLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.3.2.1:1/", "http://localhost:9"} {
		if err := loopbackOnly(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080", "https://example.com", "http://[::1]:80", "not a url", "http://128.0.0.1"} {
		if loopbackOnly(bad) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	o := options{system: "ours", streams: "http://127.0.0.1:1", function: "http://127.0.0.1:2/,http://192.168.1.1/", secret: "s",
		conns: 1, rate: 1, duration: 1, connectRate: 1, inflight: 1, sources: 1}
	if o.check() == nil {
		t.Error("a non-loopback function endpoint in the list was accepted")
	}
}

func TestPercentiles(t *testing.T) {
	v := make([]int64, 1000)
	for i := range v {
		v[i] = int64(1000-i) * 1e6 // 1..1000 ms, reversed
	}
	d := percentiles(v, 1e6)
	if d.N != 1000 || d.P50 != 500 || d.P99 != 990 || d.P999 != 999 || d.Max != 1000 {
		t.Fatalf("%+v", d)
	}
	if (percentiles(nil, 1) != dist{}) {
		t.Error("empty input")
	}
}

func TestCountDeliveries(t *testing.T) {
	sent := []string{"a", "a", "b", ""} // seq 3 failed to publish: not expected
	conns := map[string]int{"a": 2, "b": 1}
	received := map[string]map[int]int{
		"a": {0: 2, 1: 3, 3: 1}, // seq 1 once too often; seq 3 was never expected
		"b": {},                 // seq 2 lost
	}
	var s summary
	s.countDeliveries(sent, received, conns)
	if s.Expected != 5 || s.Delivered != 4 || s.Lost != 1 || s.Duplicated != 1 {
		t.Fatalf("%+v", s)
	}
	if s.ok() {
		t.Error("a run with loss counted as ok")
	}
}

func TestReadFrames(t *testing.T) {
	stream := "retry: 2000\n\n: ok\n\nid: 1-0\nevent: video_complete\n" +
		`data: {"id":"1-0","request_id":"lt-7-1764174645123000000","type":"video_complete"}` + "\n\n" +
		": ping\n\n" + `data: {"request_id":"other"}` + "\n\n" +
		`data: {"request_id":"lt-8-1764174645124000000-1764174645120000000"}` + "\n\n" +
		// Centrifugo's unidirectional SSE: a publication whose data is the notification.
		`data: {"channel":"notifications:lt-1","pub":{"data":{"type":"video_complete","request_id":"lt-9-1764174645125000000-1764174645121000000"},"offset":3}}` + "\n\n" +
		// A broadcast: its number and send time ride in the title.
		"id: 5-0;!all:7-0\nevent: announcement\n" +
		`data: {"id":"!all:7-0","type":"announcement","severity":"info","title":"lt-b-2-1764174645126000000","created_at":"2026-11-26T16:30:45.126Z"}` + "\n\n" +
		`data: {"title":"lt-b-x-1"}` + "\n\n" + `data: {"title":"lt-b-3"}` + "\n\n" +
		`data: {}` + "\n\n"
	type note struct {
		seq       int
		sent, due int64
	}
	var got, broadcasts []note
	err := readFrames(strings.NewReader(stream), func(seq int, sent, due int64) { got = append(got, note{seq, sent, due}) },
		func(k int, sent int64) { broadcasts = append(broadcasts, note{k, sent, 0}) })
	want := []note{{7, 1764174645123000000, 1764174645123000000}, {8, 1764174645124000000, 1764174645120000000},
		{9, 1764174645125000000, 1764174645121000000}}
	if err == nil || !slices.Equal(got, want) {
		t.Fatalf("got %v, err %v; want %v", got, err, want)
	}
	if want := []note{{2, 1764174645126000000, 0}}; !slices.Equal(broadcasts, want) {
		t.Fatalf("broadcasts %v; want %v", broadcasts, want)
	}
}

func TestRequestIDRoundTrip(t *testing.T) {
	sent, due := time.Unix(1764174645, 123), time.Unix(1764174645, 100)
	frame := `data: {"request_id":"` + requestID(42, sent, due) + `"}` + "\n"
	var seq int
	var s, d int64
	_ = readFrames(strings.NewReader(frame), func(q int, a, b int64) { seq, s, d = q, a, b }, nil)
	if seq != 42 || s != sent.UnixNano() || d != due.UnixNano() {
		t.Fatalf("read back %d %d %d", seq, s, d)
	}
}

func TestCentrifugo(t *testing.T) {
	p := centrifugoStreamPath("a.b.c")
	u, err := url.Parse(p)
	if err != nil || u.Path != "/connection/uni_sse" || u.Query().Get("cf_connect") != `{"token":"a.b.c"}` {
		t.Fatalf("stream path %q", p)
	}
	req := centrifugoPublish(context.Background(), "http://127.0.0.1:8000/", "key", "lt-3", "lt-1-2-3", time.Unix(0, 0))
	var body struct {
		Channel        string            `json:"channel"`
		Data           map[string]string `json:"data"`
		IdempotencyKey string            `json:"idempotency_key"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "http://127.0.0.1:8000/api/publish" || req.Header.Get("X-API-Key") != "key" ||
		body.Channel != "notifications:lt-3" || body.Data["request_id"] != "lt-1-2-3" || body.IdempotencyKey != "lt-1-2-3" {
		t.Fatalf("publish request %s %v %+v", req.URL, req.Header, body)
	}
	for reply, ok := range map[string]bool{
		`{"result":{"offset":1,"epoch":"x"}}`: true, `{"result":{}}`: true,
		`{"error":{"code":102,"message":"unknown channel"}}`: false, `not json`: false, `{}`: false,
	} {
		if err := centrifugoReplyError([]byte(reply)); (err == nil) != ok {
			t.Errorf("%s: %v", reply, err)
		}
	}
	o := options{system: "centrifugo", streams: "http://127.0.0.1:1", function: "http://127.0.0.1:2", secret: "s",
		conns: 1, rate: 1, duration: 1, connectRate: 1, inflight: 1, sources: 1}
	if o.check() == nil {
		t.Error("centrifugo without an API key accepted")
	}
	o.system = "mercure"
	if o.check() == nil {
		t.Error("unknown system accepted")
	}
	if !holdsConnections("centrifugo") || !holdsConnections("stream2") || holdsConnections("redis") {
		t.Error("holdsConnections")
	}
}

func TestProcStats(t *testing.T) {
	ws, err := parsePids("self=" + strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	s := sample(ws)
	if s[0].name != "self" || s[0].rssKiB <= 0 {
		t.Fatalf("%+v", s[0])
	}
	if busy, total := machineTicks(); busy <= 0 || total < busy {
		t.Errorf("machine ticks %d busy of %d", busy, total)
	}
	w := startWindow([]int{os.Getpid()})
	if m, tool, other := w.end([]int{os.Getpid()}, 0); m < 0 || tool < 0 || other < 0 {
		t.Errorf("window %v %v %v", m, tool, other)
	}
	for _, bad := range []string{"x", "x=0", "x=abc", "x=999999999"} {
		if _, err := parsePids(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestMain lets the test binary serve as the tool's worker process: the coordinator
// starts os.Executable() with -worker, which here is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-worker" {
		if err := runWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestBroadcastTally(t *testing.T) {
	// One connection got #0 twice and #1 once; another only #1.
	r := workerResult{BroadcastNanos: map[int][]int64{}, BroadcastDup: map[int]int{}}
	r.addBroadcasts([]int{0, 1, 0}, []int64{5e6, 7e6, 9e6})
	r.addBroadcasts([]int{1}, []int64{3e6})
	if !slices.Equal(r.BroadcastNanos[0], []int64{5e6}) || !slices.Equal(r.BroadcastNanos[1], []int64{7e6, 3e6}) ||
		r.BroadcastDup[0] != 1 || r.BroadcastDup[1] != 0 {
		t.Fatalf("%+v", r)
	}
	sent := []sentBroadcast{{k: 0, answer: time.Millisecond}, {k: 1}, {k: 2, err: errors.New("refused")}}
	stats := countBroadcasts(sent, r.BroadcastNanos, r.BroadcastDup, 2)
	want := []broadcastStat{
		{Seq: 0, PublishMs: 1, Received: 1, Missing: 1, Duplicated: 1, First: 5, P50: 5, P90: 5, P99: 5, Last: 5},
		{Seq: 1, Received: 2, First: 3, P50: 3, P90: 7, P99: 7, Last: 7},
		{Seq: 2, Error: "refused"},
	}
	if !slices.Equal(stats, want) {
		t.Fatalf("got %+v\nwant %+v", stats, want)
	}
	s := summary{Broadcasts: stats}
	if s.ok() || s.broadcastOK() {
		t.Error("a broadcast run with a missing, a duplicated and a failed broadcast counted as ok")
	}
	if m, d, f := s.broadcastTotals(); m != 1 || d != 1 || f != 1 {
		t.Errorf("totals %d %d %d", m, d, f)
	}
	s.Broadcasts = stats[1:2]
	if !s.ok() {
		t.Error("a clean broadcast counted as failed")
	}
	if median([]float64{1, 2, 9}) != 2 || median([]float64{1, 2, 4, 9}) != 3 {
		t.Error("median")
	}
}

func TestBroadcastOptions(t *testing.T) {
	base := options{system: "ours", streams: "http://127.0.0.1:1", function: "http://127.0.0.1:2", secret: "s",
		conns: 10, rate: 1, duration: 1, connectRate: 1, inflight: 1, sources: 1, broadcasts: 2,
		broadcastInterval: time.Second, redisAddr: "127.0.0.1:6379"}
	if err := base.check(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*options){
		"remote redis":       func(o *options) { o.redisAddr = "10.0.0.3:6379" },
		"no redis":           func(o *options) { o.redisAddr = "" },
		"redis without port": func(o *options) { o.redisAddr = "127.0.0.1" },
		"remote function":    func(o *options) { o.broadcastFunction = "http://192.168.0.2/" },
		"no connections":     func(o *options) { o.conns = 0 },
		"publish only":       func(o *options) { o.publishOnly = true },
		"centrifugo":         func(o *options) { o.system, o.apiKey = "centrifugo", "k" },
		"no interval":        func(o *options) { o.broadcastInterval = 0 },
		"negative":           func(o *options) { o.broadcasts = -1 },
	} {
		o := base
		mut(&o)
		if o.check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o := base
	o.redisAddr, o.broadcastFunction = "", "http://127.0.0.1:9/"
	if err := o.check(); err != nil {
		t.Errorf("through the function: %v", err)
	}
}

// TestBroadcastRun drives the whole tool — worker processes, real SSE connections to a
// stream server on a real Redis — with 50 connections and 3 broadcasts, and checks that
// every connection got each broadcast exactly once and that the report carries the
// fan-out figures and the per-user latency of the same run. Then the same with
// broadcasts published under a key prefix no stream reads: every one must be reported
// missing and the run must fail.
func TestBroadcastRun(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	streamURL := startStream(t, rs.Addr)
	fnURL := startJobFunction(t, rs.Addr)
	const conns, broadcasts = 50, 3
	o := options{system: systemOurs, streams: streamURL, function: fnURL, secret: testSecret,
		conns: conns, users: 20, connectRate: 2000, rate: 200, duration: 300 * time.Millisecond, inflight: 2,
		idle: 50 * time.Millisecond, settle: 500 * time.Millisecond, procs: 2, sources: 2, timeout: time.Minute,
		pids:       "stream=" + strconv.Itoa(os.Getpid()),
		broadcasts: broadcasts, broadcastInterval: 200 * time.Millisecond, redisAddr: rs.Addr, redisPrefix: rediskey.DefaultPrefix}
	s, err := run(o)
	if err != nil {
		t.Fatal(err)
	}
	text := s.text()
	t.Log("\n" + text)
	if !s.ok() || s.Lost != 0 || s.Latency.N != s.Expected || s.Expected == 0 {
		t.Fatalf("run not clean: lost %d, duplicated %d, connect failed %d, dropped %d, %d latencies for %d expected; broadcasts %+v",
			s.Lost, s.Duplicated, s.ConnectFailed, s.Dropped, s.Latency.N, s.Expected, s.Broadcasts)
	}
	if len(s.Broadcasts) != broadcasts || s.BroadcastConns != conns || s.BroadcastVia != viaRedis {
		t.Fatalf("broadcasts %+v, conns %d, via %q", s.Broadcasts, s.BroadcastConns, s.BroadcastVia)
	}
	for i, b := range s.Broadcasts {
		if b.Seq != i || b.Error != "" || b.Received != conns || b.Missing != 0 || b.Duplicated != 0 {
			t.Errorf("broadcast %d: %+v", i, b)
		}
		if !(0 < b.First && b.First <= b.P50 && b.P50 <= b.P99 && b.P99 <= b.Last && b.Last < 5000) {
			t.Errorf("broadcast %d: figures out of order or absurd: %+v", i, b)
		}
	}
	if len(s.BroadcastServers) != 1 || s.BroadcastServers[0].RSSAfterMiB <= 0 || s.BroadcastServers[0].HalfSeconds <= 0 {
		t.Errorf("servers during broadcasts: %+v", s.BroadcastServers)
	}
	for _, want := range []string{"broadcasts: 3 via redis to 50 open connections", "0 missing, 0 duplicated, 0 publishes failed",
		"broadcast fan-out time (last connection), over 3 broadcasts", "per-user notification in the same run", "last "} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	data, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(data), `"last_ms"`) {
		t.Errorf("JSON summary: %v %s", err, data)
	}

	// Published where no stream listens: each connection misses it, and the run fails.
	o.broadcasts, o.redisPrefix, o.conns, o.users, o.procs = 1, "elsewhere", 10, 10, 1
	s, err = run(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.ok() || len(s.Broadcasts) != 1 || s.Broadcasts[0].Missing != 10 || s.Broadcasts[0].Received != 0 {
		t.Fatalf("a broadcast nobody received was not reported missing: %+v", s.Broadcasts)
	}
}

const testSecret = "loadtest-test-secret-loadtest-test-0"

// startStream runs the stream service in this process on a free loopback port.
func startStream(t *testing.T, redisAddr string) string {
	t.Helper()
	env := map[string]string{"JWT_SECRET": testSecret, "REDIS_ADDR": redisAddr, "LOG_LEVEL": "warn",
		"RATE_LIMIT_PER_IP": "100000", "RATE_LIMIT_BURST": "100000", "MAX_CONNS": "20000", "MAX_CONNS_PER_USER": "100",
		"RATE_LIMIT_PER_USER": "100000", "RATE_LIMIT_USER_BURST": "100000", "METRICS_ADDR": "off"}
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := server.LoadConfig(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := redisbroker.Open(cfg.Redis, broker.DefaultLimits, redisbroker.Options{})
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })
	url := "http://" + ln.Addr().String()
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if i == 100 {
			t.Fatalf("stream not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startJobFunction stands in for the function's Notify entry point: it reads the job
// event from the Pub/Sub push body the tool sends and stores and publishes the
// notification with the broker the function uses.
func startJobFunction(t *testing.T, redisAddr string) string {
	t.Helper()
	b, err := redisbroker.New(redis.NewClient(&redis.Options{Addr: redisAddr}), rediskey.Names{Prefix: rediskey.DefaultPrefix},
		broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var push struct {
			Message struct {
				Data      []byte `json:"data"`
				MessageID string `json:"messageId"`
			} `json:"message"`
		}
		var job struct {
			RequestID string `json:"request_id"`
			UserID    string `json:"user_id"`
			VideoURL  string `json:"video_url"`
			Title     string `json:"title"`
		}
		if err := json.NewDecoder(r.Body).Decode(&push); err != nil || json.Unmarshal(push.Message.Data, &job) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		n := notification.Notification{Type: notification.VideoComplete, RequestID: job.RequestID, VideoURL: job.VideoURL,
			Title: job.Title, CreatedAt: notification.Timestamp{Time: time.Now()}}
		if _, _, err := b.Publish(r.Context(), job.UserID, push.Message.MessageID, n); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { srv.Close(); b.Close() })
	return srv.URL + "/"
}
