package server

// The security suite (make test-security): every test here is named TestSecurity_… and
// proves one defence listed in docs/SECURITY.md.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

func tokenWith(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ticketFor asks the ticket endpoint for a ticket with user's bearer token.
func (e *env) ticketFor(tok string) (string, int) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/notifications/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode == http.StatusCreated && (body.ExpiresIn < 1 || body.ExpiresIn > 60) {
		e.t.Errorf("expires_in = %d", body.ExpiresIn)
	}
	return body.Ticket, resp.StatusCode
}

func TestSecurity_TokensRejected(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.JWTIssuer, c.JWTAudience = "vividly", "notifications" })
	now := time.Now()
	good := jwt.MapClaims{"sub": "u", "exp": now.Add(time.Hour).Unix(), "iss": "vividly", "aud": "notifications"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range good {
			c[a] = b
		}
		c[k] = v
		return c
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, tok := range map[string]string{
		"malformed":     "not-a-jwt",
		"bad signature": tokenWith(t, good)[:len(tokenWith(t, good))-4] + "AAAA",
		"alg none":      none,
		"expired":       tokenWith(t, with("exp", now.Add(-time.Hour).Unix())),
		"not yet valid": tokenWith(t, with("nbf", now.Add(time.Hour).Unix())),
		"wrong issuer":  tokenWith(t, with("iss", "evil")),
		"wrong aud":     tokenWith(t, with("aud", "other")),
		"sub wildcard":  tokenWith(t, with("sub", "*")),
	} {
		if _, status := e.tryOpen(tok, "", ""); status != http.StatusUnauthorized {
			t.Errorf("%s: stream status %d, want 401", name, status)
		}
		if _, status := e.ticketFor(tok); status != http.StatusUnauthorized {
			t.Errorf("%s: ticket status %d, want 401", name, status)
		}
	}
	if _, status := e.tryOpen(tokenWith(t, good), "", ""); status != http.StatusOK {
		t.Fatalf("good token: %d", status)
	}
}

// TestSecurity_NoCrossUserReads: whatever a client controls, a token for alice yields
// only alice's notifications.
func TestSecurity_NoCrossUserReads(t *testing.T) {
	e := newEnv(t, nil)
	bobIDs := []string{e.publish("bob"), e.publish("bob")}
	bobTicket, _ := e.ticketFor(token(t, "bob", time.Hour))
	aliceTok := token(t, "alice", time.Hour)

	attempts := map[string]func() *http.Request{
		"query user params": func() *http.Request {
			return e.streamRequest("?user=bob&user_id=bob&sub=bob&channel=notifications:bob")
		},
		"identity headers": func() *http.Request {
			r := e.streamRequest("")
			for _, h := range []string{"X-User-ID", "X-Forwarded-User", "X-Goog-Authenticated-User-ID", "X-Endpoint-API-UserInfo"} {
				r.Header.Set(h, "bob")
			}
			return r
		},
		"last-event-id of bob's": func() *http.Request {
			r := e.streamRequest("")
			r.Header.Set("Last-Event-ID", bobIDs[0])
			return r
		},
		"last_event_id query of bob's": func() *http.Request { return e.streamRequest("?last_event_id=0-0") },
		"bob's ticket beside alice's bearer": func() *http.Request {
			return e.streamRequest("?ticket=" + bobTicket)
		},
	}
	for name, build := range attempts {
		req := build()
		req.Header.Set("Authorization", "Bearer "+aliceTok)
		c, status := e.openRequest(req)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", name, status)
		}
		mine := e.publish("alice")
		for {
			f := c.next()
			if strings.Contains(f.data, `"request_id"`) && f.id != mine && f.event != "reset" {
				// a replayed frame must be alice's own
				var n map[string]any
				json.Unmarshal([]byte(f.data), &n)
				for _, b := range bobIDs {
					if f.id == b {
						t.Fatalf("%s: alice received bob's %s", name, b)
					}
				}
			}
			if f.id == mine {
				break
			}
		}
		c.close()
	}
	// Path tricks reach no other handler and no other user.
	for _, path := range []string{"/api/v1/notifications/stream/bob", "/api/v1/notifications/stream/../stream?user=bob",
		"/api/v1/notifications//stream", "/api/v1/notifications/%2e%2e/stream", "/api/v1/notifications/bob/stream"} {
		req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+aliceTok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(ct, "text/event-stream") {
			// Go may clean the path to the stream route: then it must be alice's stream.
			sc := bufio.NewScanner(resp.Body)
			deadline := time.Now().Add(300 * time.Millisecond)
			go func() { time.Sleep(time.Until(deadline)); resp.Body.Close() }()
			for sc.Scan() {
				for _, b := range bobIDs {
					if strings.Contains(sc.Text(), b) {
						t.Fatalf("%s leaked bob's %s", path, b)
					}
				}
			}
		}
		resp.Body.Close()
	}
}

func TestSecurity_Tickets(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TicketTTL = time.Second })
	other := &env{t: t, names: e.names} // another process on the same Redis
	other.rdb, other.pub = e.rdb, e.pub
	other.start(func(c *Config) { c.TicketTTL = time.Second })
	tk, status := e.ticketFor(token(t, "carol", time.Hour))
	if status != http.StatusCreated || len(tk) != 43 {
		t.Fatalf("ticket = %q, %d", tk, status)
	}
	// Redeemed on the other process: works once.
	if _, status := other.tryOpen("", "", "?ticket="+tk); status != http.StatusOK {
		t.Fatalf("ticket on another process: %d", status)
	}
	if _, status := e.tryOpen("", "", "?ticket="+tk); status != http.StatusUnauthorized {
		t.Fatalf("ticket reuse: %d, want 401", status)
	}
	expired, _ := e.ticketFor(token(t, "carol", time.Hour))
	time.Sleep(1100 * time.Millisecond)
	if _, status := e.tryOpen("", "", "?ticket="+expired); status != http.StatusUnauthorized {
		t.Fatalf("expired ticket: %d, want 401", status)
	}
	for _, bad := range []string{"?ticket=" + strings.Repeat("A", 43), "?ticket=" + token(t, "carol", time.Hour),
		"?ticket=%0D%0Aevil", "?token=" + token(t, "carol", time.Hour), "?access_token=" + token(t, "carol", time.Hour)} {
		if _, status := e.tryOpen("", "", bad); status != http.StatusUnauthorized {
			t.Errorf("%.40s…: %d, want 401", bad, status)
		}
	}
	// A ticket's stream belongs to the ticket's user and ends with the token.
	short, _ := e.ticketFor(token(t, "dora", 2500*time.Millisecond)) // exp is whole seconds: keep over 1 s left
	c, status := e.tryOpen("", "", "?ticket="+short)
	if status != http.StatusOK {
		t.Fatalf("ticket stream: %d", status)
	}
	id := e.publish("dora")
	if f := c.events(1)[0]; f.id != id {
		t.Fatalf("ticket stream got %+v", f)
	}
	c.ended(5 * time.Second)
}

func TestSecurity_CookieAndOrigins(t *testing.T) {
	e := newEnv(t, nil)
	open := func(origin string) int {
		req := e.streamRequest("")
		req.AddCookie(&http.Cookie{Name: "vividly_session", Value: token(t, "erin", time.Hour)})
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		c, status := e.openRequest(req)
		if c != nil {
			c.close()
		}
		return status
	}
	for origin, want := range map[string]int{"": 200, "https://app.example": 200, e.url: 200, "https://evil.example": 403, "null": 403} {
		if got := open(origin); got != want {
			t.Errorf("cookie from origin %q: %d, want %d", origin, got, want)
		}
	}
	// CORS: listed origins get credentials, others nothing; never a wildcard.
	for origin, want := range map[string]string{"https://app.example": "https://app.example", "https://evil.example": ""} {
		req, _ := http.NewRequest(http.MethodOptions, e.url+"/api/v1/notifications/tickets", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if got != want || got == "*" {
			t.Errorf("preflight from %s: ACAO %q (status %d), want %q", origin, got, resp.StatusCode, want)
		}
		if want == "" && resp.StatusCode != http.StatusForbidden {
			t.Errorf("preflight from %s: %d, want 403", origin, resp.StatusCode)
		}
		if want != "" && resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("preflight from %s without credentials", origin)
		}
	}
}

func TestSecurity_RateLimitsEngageAndRecover(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RateLimitPerIP, c.RateLimitBurst = 2, 2 })
	tok := token(t, "fay", time.Hour)
	for i := range 2 {
		if _, status := e.ticketFor(tok); status != http.StatusCreated {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/notifications/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, status := e.tryOpen(tok, "", ""); status != http.StatusTooManyRequests {
		t.Fatalf("stream over the limit: %d", status)
	}
	time.Sleep(600 * time.Millisecond)
	if _, status := e.ticketFor(tok); status != http.StatusCreated {
		t.Fatalf("after refill: %d", status)
	}
}

func TestSecurity_ConnectionCaps(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConnsPerUser, c.MaxConns = 2, 3 })
	a1, a2 := e.open("gus", "", ""), e.open("gus", "", "")
	if _, status := e.tryOpen(token(t, "gus", time.Hour), "", ""); status != http.StatusTooManyRequests {
		t.Fatalf("third stream for one user: %d, want 429", status)
	}
	e.open("hal", "", "")
	if _, status := e.tryOpen(token(t, "ivy", time.Hour), "", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("over the instance ceiling: %d, want 503", status)
	}
	a1.close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, status := e.tryOpen(token(t, "gus", time.Hour), "", "")
		if status == http.StatusOK {
			c.close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after a stream closed: %d", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a2.close()
}

func TestSecurity_OversizedBodies(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t, "jay", time.Hour)
	big := strings.Repeat("x", 70<<10)
	for name, chunked := range map[string]bool{"content-length": false, "chunked": true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(strings.NewReader(big)) // unknown length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/notifications/tickets", body)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d, want 413", name, resp.StatusCode)
		}
	}
}

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

// hangingStore never answers until the request is abandoned.
type hangingStore struct{}

func (hangingStore) Put(ctx context.Context, _, _ string, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

func (hangingStore) Take(ctx context.Context, _ string) (string, bool, error) {
	<-ctx.Done()
	return "", false, ctx.Err()
}

func TestSecurity_Timeouts(t *testing.T) {
	e := &env{t: t, names: rediskey.Names{Prefix: "timeouts"}, tickets: hangingStore{}}
	e.rdb, e.pub = newBroker(t, e.names)
	e.start(func(c *Config) { c.RequestTimeout, c.ReadHeaderTimeout = 200*time.Millisecond, 300*time.Millisecond })

	start := time.Now()
	_, status := e.ticketFor(token(t, "max", time.Hour))
	if status != http.StatusServiceUnavailable || time.Since(start) > 3*time.Second {
		t.Fatalf("stuck ticket request: %d after %s; want 503 after REQUEST_TIMEOUT", status, time.Since(start))
	}
	// Slow-loris: headers that never finish are cut off after READ_HEADER_TIMEOUT.
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start = time.Now()
	io.ReadAll(c) // returns when the server closes the connection
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("half-sent headers held the connection for %s", d)
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
		"Access-Control-Allow-Origin": "https://app.example",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(c.resp.TransferEncoding) != 1 || c.resp.TransferEncoding[0] != "chunked" || c.resp.ProtoMinor != 1 {
		t.Errorf("transfer encoding %v over HTTP/1.%d", c.resp.TransferEncoding, c.resp.ProtoMinor)
	}
}
