package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
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
	o := options{streams: "http://127.0.0.1:1", function: "http://127.0.0.1:2/,http://192.168.1.1/", secret: "s",
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
		`data: {"request_id":"lt-8-1764174645124000000"}` + "\n\n"
	var seqs []int
	var sent []int64
	err := readFrames(strings.NewReader(stream), func(seq int, at int64) { seqs = append(seqs, seq); sent = append(sent, at) })
	if err == nil || len(seqs) != 2 || seqs[0] != 7 || seqs[1] != 8 || sent[0] != 1764174645123000000 {
		t.Fatalf("seqs %v sent %v err %v", seqs, sent, err)
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
	for _, bad := range []string{"x", "x=0", "x=abc", "x=999999999"} {
		if _, err := parsePids(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
