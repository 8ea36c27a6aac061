package server

// The security suite (make test-security): every test here is named TestSecurity_… and
// proves one defence listed in docs/SECURITY.md.
//
// This file: what leaves the server: frames, headers, error bodies and logs.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSecurity_CRLFInjection sends raw requests with CR/LF smuggled into headers and
// parameters: each is refused, or handled without a forged frame or header.
func TestSecurity_CRLFInjection(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t, "kay", time.Hour)
	addr := strings.TrimPrefix(e.url, "http://")
	raw := func(req string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		fmt.Fprint(c, req)
		b, _ := io.ReadAll(c)
		return string(b)
	}
	for name, req := range map[string]string{
		"bare CR in Last-Event-ID": "GET /api/v1/notifications/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nLast-Event-ID: 1-0\revent: forged\r\n\r\n",
		"bare LF in Origin":        "GET /api/v1/notifications/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nOrigin: https://app.example\nSet-Cookie: a=b\r\n\r\n",
		"CRLF in the path":         "GET /api/v1/notifications/stream?x=1\r\nInjected: yes HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		got := raw(req)
		if strings.Contains(got, "forged") || strings.Contains(got, "Set-Cookie: a=b") || strings.Contains(got, "Injected") {
			t.Errorf("%s: response echoes the injection: %q", name, got)
		}
		// Go ends a header line at a bare LF (the LF case becomes a separate request
		// header, never echoed); a bare CR or a CRLF inside the request line is a 400.
		if name != "bare LF in Origin" && !strings.HasPrefix(got, "HTTP/1.1 400") {
			t.Errorf("%s: %q, want 400", name, firstLine(got))
		}
	}
	// Encoded CR/LF in a parameter reaches the handler and is treated as a bad id.
	c := e.open("kay", "", "?last_event_id=1-0%0D%0Aevent:%20forged%0D%0Adata:%20x")
	if f := c.events(1)[0]; f.event != "reset" || strings.Contains(f.data, "forged") {
		t.Fatalf("got %+v, want a clean reset", f)
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }

func TestSecurity_HeadersAndErrors(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/healthz", "/readyz", "/nope", "/api/v1/notifications/stream"} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if resp.Header.Get(h) != want {
				t.Errorf("%s: %s = %q", path, h, resp.Header.Get(h))
			}
		}
		if resp.StatusCode >= 400 {
			var v map[string]string
			if json.Unmarshal(body, &v) != nil || v["error"] == "" || strings.Contains(v["error"], "redis") || strings.Contains(v["error"], "127.0.0.1") {
				t.Errorf("%s: error body %q is not a plain JSON error", path, body)
			}
		}
	}
}

// TestSecurity_NoSecretsInLogs runs the credential flows and then scans every log line
// the server wrote for the secret, the tokens and the tickets.
func TestSecurity_NoSecretsInLogs(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t, "lee", time.Hour)
	expired := token(t, "lee", -time.Hour)
	tk, _ := e.ticketFor(tok)
	c, _ := e.tryOpen("", "", "?ticket="+tk)
	e.publish("lee")
	c.events(1)
	e.tryOpen(expired, "", "")
	e.tryOpen("", "", "?ticket="+tk) // reuse
	e.tryOpen("", "", "?token="+tok)
	e.shutdown()
	logs := e.logs.String()
	if !strings.Contains(logs, "stream opened") {
		t.Fatal("captured no logs: the scan would prove nothing")
	}
	for name, s := range map[string]string{"secret": secret, "token": tok, "expired token": expired, "ticket": tk,
		"token signature": tok[strings.LastIndex(tok, ".")+1:]} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the %s", name)
		}
	}
}

// TestSecurity_DemoOffByDefault: the demo page is served only when DEMO_ENABLED is set
// (make run sets it); the client module is always served, for apps to import.
func TestSecurity_DemoOffByDefault(t *testing.T) {
	status := func(e *env, path string) int {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	off := newEnv(t, nil)
	if got := status(off, "/demo/"); got != http.StatusNotFound {
		t.Errorf("demo without DEMO_ENABLED: %d, want 404", got)
	}
	if got := status(off, "/client/notifications.js"); got != http.StatusOK {
		t.Errorf("client module: %d", got)
	}
	on := newEnv(t, func(c *Config) { c.DemoEnabled = true })
	if got := status(on, "/demo/"); got != http.StatusOK {
		t.Errorf("demo with DEMO_ENABLED: %d, want 200", got)
	}
}

// TestSecurity_StreamResponseHeaders: a stream served on the connection taken over from
// net/http still carries the stream's headers, the security headers and CORS.
func TestSecurity_StreamResponseHeaders(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AllowedOrigins = []string{"https://app.example"} })
	req := e.streamRequest("")
	req.Header.Set("Authorization", "Bearer "+token(t, "hedy", time.Hour))
	req.Header.Set("Origin", "https://app.example")
	c, status := e.openRequest(req)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	h := c.resp.Header
	for k, want := range map[string]string{
		"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Expose-Headers": "Retry-After",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(c.resp.TransferEncoding) != 1 || c.resp.TransferEncoding[0] != "chunked" || c.resp.ProtoMinor != 1 {
		t.Errorf("transfer encoding %v over HTTP/1.%d", c.resp.TransferEncoding, c.resp.ProtoMinor)
	}
}
