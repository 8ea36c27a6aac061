package server

// The security suite (make test-security): every test here is named TestSecurity_… and
// proves one defence listed in docs/SECURITY.md.
//
// This file: admission: what an address may fail before it authenticates, what a user
// may do after, and what a credential may cost.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// call sends one API request with the given headers and returns its status and headers
// (the body is checked to be a JSON error on refusals).
func (e *env) call(method, path string, hdr map[string]string) (int, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, resp.Header // a stream: leave it (closing the body ends it)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge && method != http.MethodHead &&
		!strings.HasPrefix(string(body), `{"error":`) {
		e.t.Errorf("%s %s: refusal body %q is not a JSON error", method, path, body)
	}
	return resp.StatusCode, resp.Header
}

// tokenChecks is how many JWTs the latest server's verifier has been handed.
func (e *env) tokenChecks() int { return int(testutil.ToFloat64(e.srv.metrics.TokenChecks)) }

// apiRoutes are every authenticated API route: method and path.
var apiRoutes = [][2]string{
	{http.MethodGet, "/api/v1/notifications/stream"},
	{http.MethodPost, "/api/v1/notifications/tickets"},
	{http.MethodGet, "/api/v1/notifications"},
}

// TestSecurity_FailedAuthLimitedPerAddress (issue 19 item 2): failed authentication is
// counted per address, IPv6 by its /64, on every API route. Rotating addresses inside a
// /64 meets 429; a blocked address is refused before its token is checked, valid or
// not; another /64 is not affected.
func TestSecurity_FailedAuthLimitedPerAddress(t *testing.T) {
	for _, route := range apiRoutes {
		t.Run(route[0]+" "+route[1], func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.RateLimitPerIP, c.RateLimitBurst, c.TrustedProxyHops = 0.01, 5, 1 })
			from := func(ip, tok string) (int, http.Header) {
				return e.call(route[0], route[1], map[string]string{"X-Forwarded-For": ip, "Authorization": "Bearer " + tok})
			}
			for i := range 5 { // five addresses of one /64, each failing once
				if status, _ := from(fmt.Sprintf("2001:db8:1:2::%x", i+1), "not-a-jwt"); status != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d, want 401", i, status)
				}
			}
			checks := e.tokenChecks()
			good := token(t, "ula", time.Hour)
			status, h := from("2001:db8:1:2:ffff:ffff:ffff:ffff", good)
			if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
				t.Fatalf("a sixth address of the /64: %d, Retry-After %q; want 429 with Retry-After", status, h.Get("Retry-After"))
			}
			if got := e.tokenChecks(); got != checks {
				t.Errorf("a blocked address had its token checked (%d checks, want %d)", got, checks)
			}
			for _, ip := range []string{"2001:db8:1:3::1", "192.0.2.7"} {
				if status, _ := from(ip, good); status >= 400 {
					t.Errorf("%s, outside the blocked /64: %d", ip, status)
				}
			}
		})
	}
}

// TestSecurity_HonestFailuresDoNotLockOutAnAddress (issue 13): a school opening its
// laptops in the morning presents expired tokens, some pages have no credential yet,
// and EventSource tabs reconnect by themselves with their spent tickets; none of that
// spends the address's failure budget, so the students with good tokens behind the
// same address get in. A malformed ticket does.
func TestSecurity_HonestFailuresDoNotLockOutAnAddress(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RateLimitPerIP, c.RateLimitBurst = 0.01, 3 })
	expired := token(t, "vic", -time.Hour)
	notYet := tokenWith(t, map[string]any{"sub": "vic", "nbf": time.Now().Add(time.Hour).Unix(), "exp": time.Now().Add(2 * time.Hour).Unix()})
	for i := range 30 {
		for name, hdr := range map[string]map[string]string{
			"expired": {"Authorization": "Bearer " + expired}, "not yet valid": {"Authorization": "Bearer " + notYet}, "missing": {},
		} {
			route := apiRoutes[i%len(apiRoutes)]
			if status, _ := e.call(route[0], route[1], hdr); status != http.StatusUnauthorized {
				t.Fatalf("%s, request %d: %d, want 401", name, i, status)
			}
		}
	}
	// EventSource reconnects by itself to the URL it opened: its ticket is spent.
	tk, _ := e.ticketFor(token(t, "wes", time.Hour))
	if _, status := e.tryOpen("", "", "?ticket="+tk); status != http.StatusOK {
		t.Fatalf("ticket: %d", status)
	}
	for i := range 20 {
		if _, status := e.tryOpen("", "", "?ticket="+tk); status != http.StatusUnauthorized {
			t.Fatalf("spent ticket, reconnect %d: %d, want 401", i, status)
		}
	}
	good := map[string]string{"Authorization": "Bearer " + token(t, "wes", time.Hour)}
	if status, _ := e.call(http.MethodPost, "/api/v1/notifications/tickets", good); status != http.StatusCreated {
		t.Fatalf("a good token after 110 honest failures: %d, want 201", status)
	}
	// A malformed ticket is no reconnect: three spend the budget.
	for range 3 {
		e.tryOpen("", "", "?ticket=not-a-ticket")
	}
	if status, _ := e.call(http.MethodPost, "/api/v1/notifications/tickets", good); status != http.StatusTooManyRequests {
		t.Fatalf("after 3 malformed tickets: %d, want 429", status)
	}
}

// TestSecurity_UserRateLimitEngagesAndRecovers: each user's API requests are limited
// (RATE_LIMIT_PER_USER, RATE_LIMIT_USER_BURST) on every route; another user behind the
// same address is not; the bucket refills.
func TestSecurity_UserRateLimitEngagesAndRecovers(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RateLimitPerUser, c.RateLimitUserBurst = 4, 2 })
	fay, gil := token(t, "fay", time.Hour), token(t, "gil", time.Hour)
	for i := range 2 {
		if _, status := e.ticketFor(fay); status != http.StatusCreated {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	for _, route := range apiRoutes {
		status, h := e.call(route[0], route[1], map[string]string{"Authorization": "Bearer " + fay})
		if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Errorf("%s over the user's limit: %d, Retry-After %q", route[1], status, h.Get("Retry-After"))
		}
	}
	if _, status := e.ticketFor(gil); status != http.StatusCreated {
		t.Fatalf("another user from the same address: %d", status)
	}
	time.Sleep(600 * time.Millisecond)
	if _, status := e.ticketFor(fay); status != http.StatusCreated {
		t.Fatalf("after refill: %d", status)
	}
}

// TestSecurity_OversizedCredentialsRefusedCheaply (issue 19 item 5): a forged 448 KB
// token is refused by the header cap (431) before any handler; one over the token cap
// (8 KiB) but under the header cap is 401 without reaching the verifier; neither is a
// stream, a ticket or a history page.
func TestSecurity_OversizedCredentialsRefusedCheaply(t *testing.T) {
	e := newEnv(t, nil)
	huge := "eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("A", 448<<10) + ".sig"
	big := "eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("A", 12<<10) + ".sig"
	checks := e.tokenChecks()
	for _, route := range apiRoutes {
		if status, _ := e.call(route[0], route[1], map[string]string{"Authorization": "Bearer " + huge}); status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with a 448 KB token: %d, want 431", route[1], status)
		}
		if status, _ := e.call(route[0], route[1], map[string]string{"Authorization": "Bearer " + big}); status != http.StatusUnauthorized {
			t.Errorf("%s with a 12 KiB token: %d, want 401", route[1], status)
		}
	}
	if status, _ := e.call(http.MethodGet, "/api/v1/notifications/stream", map[string]string{"Cookie": "vividly_session=" + big,
		"Sec-Fetch-Site": "same-origin"}); status != http.StatusUnauthorized {
		t.Errorf("12 KiB cookie: %d, want 401", status)
	}
	if got := e.tokenChecks(); got != checks {
		t.Errorf("oversized tokens reached the verifier %d times", got-checks)
	}
}
