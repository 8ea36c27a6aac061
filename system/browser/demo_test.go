package browser

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 18, smaller: the demo renews its token by the server's clock (the token's
// lifetime exp − iat, measured from when the page got it), not by comparing exp with a
// client clock that may be wrong: here an hour slow, with tokens that live 3 s. The
// server's 30 s clock leeway would hide a stale token for a while (each stream then
// ends at once and the replay catches up), so the test checks what the page sends.
func TestDemoTokenExpiryIgnoresClientClock(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	var stale, fresh atomic.Int64
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/stream") || strings.HasSuffix(r.URL.Path, "/tickets") {
			if tokenExpiry(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")).Before(time.Now()) {
				stale.Add(1)
			} else {
				fresh.Add(1)
			}
		}
		return false
	})
	slowClock := `(() => { const now = Date.now; Date.now = () => now() - 3600e3; })();`
	page := openTabInit(t, newBrowser(t), app.url()+"/demo/?user=skew&token_ttl=3s", slowClock)
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	time.Sleep(5 * time.Second) // the first token has expired; the stream ended with it
	pub.send("skew", "video_complete", "after-expiry")
	s := page.waitState(live, "notification after the first token expired", func(s pageState) bool { return len(s.Toasts) == 1 })
	checkList(t, "skewed clock", s, []string{"after-expiry"})
	t.Logf("requests with a valid token %d, with an expired one %d", fresh.Load(), stale.Load())
	if stale.Load() > 0 || fresh.Load() < 2 {
		t.Errorf("%d requests carried an expired token (%d a valid one): the demo did not renew it", stale.Load(), fresh.Load())
	}
}

// tokenExpiry reads a JWT's exp without verifying it.
func tokenExpiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ Exp int64 }
	if err != nil || json.Unmarshal(b, &c) != nil {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0)
}

// Issue 18, smaller: the demo lists notifications in the server's order (newest first),
// never by comparing ids as strings — here ids are opaque and their string order is not
// the log's order.
func TestDemoListsInServerOrder(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	app := startApp(t, sys)
	opaqueIDs(app)
	pub := newPublisher(t, redisAddr, 0)
	history := titlesN("order", 0, 4)
	pub.jobs("oscar", history)
	page := openTab(t, newBrowser(t), app.url()+"/demo/?user=oscar")
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	fresh := titlesN("order", 4, 8)
	pub.jobs("oscar", fresh)
	s := page.waitState(live, "every notification", func(s pageState) bool { return len(s.List) == 8 })
	want := slices.Clone(append(history, fresh...))
	slices.Reverse(want)
	if got := s.titles(); !slices.Equal(got, want) {
		t.Errorf("list order %v, want newest first %v", got, want)
	}
}

// Issue 18, smaller: the demo works where storage is blocked (it kept the read state
// in localStorage without a guard, and threw before connecting).
func TestDemoWithBlockedStorage(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	pub := newPublisher(t, redisAddr, 0)
	blocked := `for (const name of ["localStorage", "sessionStorage"]) Object.defineProperty(window, name, { get() { throw new DOMException("Access is denied for this document.", "SecurityError"); } });`
	flowDemoWithBlockedStorage(t, pub, openTabInit(t, newBrowser(t), sys.url()+"/demo/?user=blocky", blocked), "blocked storage")
}

// flowDemoWithBlockedStorage is TestDemoWithBlockedStorage's check in either browser,
// on a demo page of student blocky whose storage is blocked: it connects, toasts, and
// mark-all clears the badge.
func flowDemoWithBlockedStorage(t *testing.T, pub *publisher, page page, who string) {
	t.Helper()
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	pub.send("blocky", "video_complete", "blocked-0")
	s := page.waitState(live, "toast", func(s pageState) bool { return len(s.Toasts) == 1 })
	if hidden := page.evalBool(`(document.getElementById("mark-all").click(), document.getElementById("badge").hidden)`); !hidden {
		t.Error("mark all as read did not clear the badge")
	}
	checkList(t, who, s, []string{"blocked-0"})
}
