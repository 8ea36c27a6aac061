package server

// The security suite (make test-security): every test here is named TestSecurity_… and
// proves one defence listed in docs/SECURITY.md.
//
// This file: credentials: tokens, tickets, cookies and origins, and whose stream a credential opens.

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// TestSecurity_CookieAndOrigins: a cookie is a credential only on a request from this
// site's own page (as the browser attests: Sec-Fetch-Site: same-origin) or from one of
// ALLOWED_ORIGINS, compared exactly, scheme included. Without either — what an <img>
// or <script> tag on another site sends — it is refused (issue 19 item 3: this used
// to be 200). A cross-site page's request is refused before its credential is read.
func TestSecurity_CookieAndOrigins(t *testing.T) {
	e := newEnv(t, nil)
	open := func(origin, site string) int {
		req := e.streamRequest("")
		req.AddCookie(&http.Cookie{Name: "vividly_session", Value: token(t, "erin", time.Hour)})
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		c, status := e.openRequest(req)
		if c != nil {
			c.close()
		}
		return status
	}
	for _, tc := range []struct {
		origin, site string
		want         int
	}{
		{"", "", 403},                               // no Origin, no Fetch Metadata: an <img> tag in an older browser
		{"", "same-origin", 200},                    // this site's own page
		{e.url, "same-origin", 200},                 // the same, with Origin
		{e.url, "", 403},                            // an Origin naming our host is no proof: only the browser's attestation is
		{"https://app.example", "", 200},            // listed
		{"https://app.example", "cross-site", 200},  // listed, from another site: the app itself
		{"http://app.example", "", 403},             // listed host, other scheme
		{"https://app.example:8443", "", 403},       // listed host, other port
		{"", "cross-site", 403},                     // another site's <img>/<script>
		{"", "same-site", 403},                      // a sibling subdomain's page
		{"https://evil.example", "cross-site", 403}, // another site's script
		{"https://evil.example", "", 403},
		{"null", "", 403},
	} {
		if got := open(tc.origin, tc.site); got != tc.want {
			t.Errorf("cookie from origin %q, Sec-Fetch-Site %q: %d, want %d", tc.origin, tc.site, got, tc.want)
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
