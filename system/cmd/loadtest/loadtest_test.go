package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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
		`data: {}` + "\n\n"
	type note struct {
		seq       int
		sent, due int64
	}
	var got []note
	err := readFrames(strings.NewReader(stream), func(seq int, sent, due int64) { got = append(got, note{seq, sent, due}) })
	want := []note{{7, 1764174645123000000, 1764174645123000000}, {8, 1764174645124000000, 1764174645120000000},
		{9, 1764174645125000000, 1764174645121000000}}
	if err == nil || !slices.Equal(got, want) {
		t.Fatalf("got %v, err %v; want %v", got, err, want)
	}
}

func TestRequestIDRoundTrip(t *testing.T) {
	sent, due := time.Unix(1764174645, 123), time.Unix(1764174645, 100)
	frame := `data: {"request_id":"` + requestID(42, sent, due) + `"}` + "\n"
	var seq int
	var s, d int64
	_ = readFrames(strings.NewReader(frame), func(q int, a, b int64) { seq, s, d = q, a, b })
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
