package server

// The security suite (make test-security): every test here is named TestSecurity_… and
// proves one defence listed in docs/SECURITY.md.
//
// This file: requests that cost more than they should: slow bodies, methods the stream
// does not serve, cursors no log reaches, and the metrics endpoint.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// openFiles is how many file descriptors this process holds (-1 where /proc is absent).
func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// TestSecurity_SlowBodiesCutOff (issue 19 item 1): a client that sends its headers and
// then trickles the body, a byte at a time, is cut off REQUEST_TIMEOUT after its
// headers, on every route but an open stream — whether the handler reads the body or
// not (net/http then reads it itself, to reuse the connection) — and the goroutines
// and files it held are released.
func TestSecurity_SlowBodiesCutOff(t *testing.T) {
	const timeout = 500 * time.Millisecond
	e := newEnv(t, func(c *Config) { c.RequestTimeout = timeout })
	addr := strings.TrimPrefix(e.url, "http://")
	auth := "Authorization: Bearer " + token(t, "yul", time.Hour) + "\r\n"
	length := "Content-Length: 1000\r\n\r\n"
	heads := map[string]string{
		"ticket without credentials": "POST /api/v1/notifications/tickets HTTP/1.1\r\nHost: x\r\n" + length,
		"ticket with a token":        "POST /api/v1/notifications/tickets HTTP/1.1\r\nHost: x\r\n" + auth + length,
		"ticket, chunked":            "POST /api/v1/notifications/tickets HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\n",
		"history with a body":        "GET /api/v1/notifications HTTP/1.1\r\nHost: x\r\n" + auth + length,
		"health with a body":         "GET /healthz HTTP/1.1\r\nHost: x\r\n" + length,
		"stream refused, with body":  "GET /api/v1/notifications/stream HTTP/1.1\r\nHost: x\r\n" + length,
		"POST to the stream":         "POST /api/v1/notifications/stream HTTP/1.1\r\nHost: x\r\n" + length,
	}
	const per = 10 // connections of each kind
	// Warm up what a request may open for good (Redis pool connections), then count.
	e.ticketFor(token(t, "yul", time.Hour))
	e.history(token(t, "yul", time.Hour), "")
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	goroutines, files := runtime.NumGoroutine(), openFiles()

	type result struct {
		name string
		held time.Duration
	}
	results := make(chan result, len(heads)*per)
	var wg sync.WaitGroup
	for name, head := range heads {
		for range per {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			chunked := strings.Contains(head, "chunked")
			stop := make(chan struct{})
			wg.Go(func() { // one byte every 100 ms: 1000 bytes would take 100 s
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					b := "x"
					if chunked {
						b = "1\r\nx\r\n"
					}
					if _, err := io.WriteString(c, b); err != nil {
						return
					}
				}
			})
			wg.Go(func() {
				defer c.Close()
				defer close(stop)
				c.SetReadDeadline(start.Add(timeout + 5*time.Second))
				io.Copy(io.Discard, c) // returns when the server closes the connection
				results <- result{name, time.Since(start)}
			})
		}
	}
	wg.Wait()
	close(results)
	longest := map[string]time.Duration{}
	for r := range results {
		longest[r.name] = max(longest[r.name], r.held)
	}
	for name, held := range longest {
		if held > timeout+2*time.Second {
			t.Errorf("%s: connections held up to %s, want cut off after REQUEST_TIMEOUT (%s)", name, held.Round(time.Millisecond), timeout)
		}
	}
	// What the connections held is released.
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFiles()
		if g <= goroutines+10 && f <= files+10 { // each of the 70 held would count twice
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the cut-off: %d goroutines (%d before), %d files (%d before)", g, goroutines, f, files)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSecurity_StreamOutlivesRequestTimeout: the read deadline that bounds every other
// request is lifted once a stream starts: it stays open and delivers past
// REQUEST_TIMEOUT (a server-wide http.Server.ReadTimeout would not allow that).
func TestSecurity_StreamOutlivesRequestTimeout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond })
	c := e.open("pim", "", "")
	time.Sleep(700 * time.Millisecond)
	id := e.publish("pim")
	if f := c.events(1)[0]; f.id != id {
		t.Fatalf("after REQUEST_TIMEOUT the stream sent %+v, want %s", f, id)
	}
}

// TestSecurity_StreamAnswersGETOnly (issue 19 item 6): HEAD, POST and the rest on the
// stream are 405 with Allow: GET, spending neither the ticket they carry nor a
// connection slot; a CORS preflight is still answered.
func TestSecurity_StreamAnswersGETOnly(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConns = 1 })
	tok := token(t, "zed", time.Hour)
	tk, _ := e.ticketFor(tok)
	for _, m := range []string{http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		status, h := e.call(m, "/api/v1/notifications/stream?ticket="+tk, map[string]string{"Authorization": "Bearer " + tok})
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != "GET" {
			t.Errorf("%s: %d, Allow %q; want 405, Allow: GET", m, status, h.Get("Allow"))
		}
	}
	// A HEAD whose connection stays open holds no slot (MAX_CONNS is 1 here).
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "HEAD /api/v1/notifications/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 405") {
		t.Errorf("HEAD on a held connection: %q, want 405", line)
	}
	// The ticket was not spent and the only slot is free.
	s, status := e.tryOpen("", "", "?ticket="+tk)
	if status != http.StatusOK {
		t.Fatalf("GET with the ticket HEAD carried: %d, want 200", status)
	}
	s.close()
	// CORS preflights are the cors layer's, before the method check.
	status, h := e.call(http.MethodOptions, "/api/v1/notifications/stream", map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
	if status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight: %d, ACAO %q", status, h.Get("Access-Control-Allow-Origin"))
	}
}

// TestSecurity_LargestIDIsABadCursor (issue 19 item 8): the largest possible id, which
// no log reaches and after which Redis refuses to range, is a bad cursor: 400 for
// history, a reset for the stream (header or query) — never a 503 or an ERROR log.
func TestSecurity_LargestIDIsABadCursor(t *testing.T) {
	e := newEnv(t, nil)
	const largest = "18446744073709551615-18446744073709551615"
	tok := token(t, "abe", time.Hour)
	newest := e.publish("abe")
	for _, after := range []string{largest, "18446744073709551616-0"} {
		if _, status := e.history(tok, "?after="+after); status != http.StatusBadRequest {
			t.Errorf("history after %s: %d, want 400", after, status)
		}
	}
	for name, open := range map[string]func() *client{
		"Last-Event-ID":       func() *client { return e.open("abe", largest, "") },
		"last_event_id query": func() *client { return e.open("abe", "", "?last_event_id="+largest) },
	} {
		if f := open().events(1)[0]; f.event != "reset" || f.id != newest {
			t.Errorf("%s: %+v, want a reset to %s", name, f, newest)
		}
	}
	if f := e.open("abner", largest, "").events(1)[0]; f.event != "reset" || f.id != "0-0" {
		t.Errorf("empty log: %+v, want a reset to 0-0", f)
	}
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			t.Errorf("ERROR logged: %s", l)
		}
	}
}

// TestSecurity_MetricsNotOnPublicPort (issue 19 item 10): /metrics is 404 on the
// public port and served on METRICS_ADDR, its own listener, which Serve closes before
// it returns; "off" serves none.
func TestSecurity_MetricsNotOnPublicPort(t *testing.T) {
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	e := newEnv(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	if status, _ := get(e.url + "/metrics"); status != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404", status)
	}
	maddr := e.srv.MetricsAddr()
	if host, _, _ := net.SplitHostPort(maddr); host != "127.0.0.1" {
		t.Fatalf("metrics served on %q, want 127.0.0.1", maddr)
	}
	if status, body := get("http://" + maddr + "/metrics"); status != http.StatusOK || !strings.Contains(body, "sse_active_connections") {
		t.Errorf("METRICS_ADDR /metrics: %d %.80q", status, body)
	}
	e.shutdown()
	if c, err := net.Dial("tcp", maddr); err == nil {
		c.Close()
		t.Errorf("metrics still served after Serve returned")
	}

	// A METRICS_ADDR that cannot be had stops Serve at once: no silent gap in metrics.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig()
	cfg.MetricsAddr = taken.Addr().String()
	_, b := newBroker(t, e.names)
	srv, _, err := Build(cfg, Deps{Broker: b, Tickets: ticket.NewMemoryStore(time.Now), Presence: presence.NewMemory(time.Now)}, e.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	if err := srv.Serve(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("Serve with METRICS_ADDR taken: %v", err)
	}

	off := newEnv(t, func(c *Config) { c.MetricsAddr = "off" })
	if off.srv.MetricsAddr() != "" {
		t.Errorf(`METRICS_ADDR=off serves metrics on %s`, off.srv.MetricsAddr())
	}
	if status, _ := get(off.url + "/metrics"); status != http.StatusNotFound {
		t.Errorf("public /metrics with metrics off: %d, want 404", status)
	}
}
