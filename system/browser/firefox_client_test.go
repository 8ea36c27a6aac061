package browser

import (
	"strings"
	"testing"
	"time"
)

// Issue 18 in Firefox ESR: the app that uses notifications.js as docs/CLIENT.md shows
// (app_harness_test.go), with the same assertions as the Chromium tests of reset,
// close(), blocked browser APIs, auth failures and backoff.

// TestResetDeliversEachOnce in Firefox (issue 18 #3).
func TestFirefoxResetDeliversEachOnce(t *testing.T) {
	device := newFirefox(t)
	flowResetDeliversEachOnce(t, newResetSetupIn(t, "rita", 5, func(url string) page { return openFirefoxTab(t, device, url) }))
}

// TestCloseIsClean in Firefox (issue 18 #8): close() in the leader tab does not throw
// and nothing is called after it; a request in flight is aborted; a StrictMode mount,
// unmount, mount leaves one connection and one history.
func TestFirefoxCloseIsClean(t *testing.T) {
	flowCloseIsClean(t, func(t *testing.T, url string) page { return openFirefoxTab(t, newFirefox(t), url) })
}

// TestAuthFailuresStop in Firefox (issue 18 #10): getToken returning null or throwing,
// or the server refusing the token, ends in "unauthorized" with a reason, the app is
// asked to sign in once, and nothing more is requested until reconnect(). The three
// modes run side by side (each its own student and tab on one system), so the 3 s of
// silence are watched once for all of them.
func TestFirefoxAuthFailuresStop(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	device := newFirefox(t)
	modes := []struct{ mode, reason string }{{"null", "no-token"}, {"throw", "token-error"}, {"bad", "http-401"}}
	pages := make([]*ffTab, len(modes))
	for i, c := range modes {
		pages[i] = openFirefoxTab(t, device, app.page("ursula-"+c.mode, nil, "auth", c.mode))
	}
	calls := make([]int, len(modes))
	for i, c := range modes {
		s := pages[i].waitApp(live, c.mode+": unauthorized", func(s appState) bool { return s.State == "unauthorized" })
		if s.Reason != c.reason || s.SignIn != 1 {
			t.Errorf("%s: unauthorized because %q, sign-in asked %d times; want %q, once", c.mode, s.Reason, s.SignIn, c.reason)
		}
		calls[i] = s.TokenCalls
	}
	since := time.Now()
	api := func(from, to time.Time) int {
		n := 0
		for _, r := range app.requests("", from) {
			if r.At.Before(to) && (strings.HasPrefix(r.Path, "/api/") || strings.HasSuffix(r.Path, "/stream")) {
				n++
			}
		}
		return n
	}
	time.Sleep(3 * time.Second)
	if n := len(app.requests("/api/v1/notifications", since)) + len(app.requests("/stream", since)); n > 0 {
		t.Errorf("%d API requests in the 3 s after unauthorized", n)
	}
	for i, c := range modes {
		s := pages[i].app()
		t.Logf("Firefox, %s: getToken calls %d (then %d more in 3 s: the check for a new credential)", c.mode, calls[i], s.TokenCalls-calls[i])
	}
	t.Logf("Firefox: API requests of the three tabs before unauthorized: %d", api(time.Time{}, since))
	// Signed in again: the app calls reconnect().
	for _, page := range pages {
		page.eval(`(app.auth.mode = "ok", handles[0].reconnect())`, nil)
	}
	for i, c := range modes {
		pages[i].waitApp(live, c.mode+": open after signing in", isOpen)
		pub.send("ursula-"+c.mode, "video_complete", "welcome-back")
	}
	for i, c := range modes {
		pages[i].waitApp(live, c.mode+": notification after signing in", func(s appState) bool { return len(s.Toasts) == 1 })
	}
}

// TestReconnectBackoff in Firefox (issue 18 #13): against a server that accepts streams
// and drops them at once, the client backs off exponentially from the retry: hint; a
// stream that stayed up for stableMs resets the attempt counter.
func TestFirefoxReconnectBackoff(t *testing.T) {
	flowReconnectBackoff(t, func(t *testing.T, url string) page { return openFirefoxTab(t, newFirefox(t), url) }, "Firefox")
}

// TestResetWithLiveNotificationsAndFollower in Firefox (issue 18 #4): live
// notifications during the refetch after a reset do not make the client drop the gap,
// and a follower tab (BroadcastChannel) receives the recovered ones too.
func TestFirefoxResetWithLiveNotificationsAndFollower(t *testing.T) {
	device := newFirefox(t)
	flowResetWithLiveNotificationsAndFollower(t, newResetSetupIn(t, "rosa", 5, func(url string) page { return openFirefoxTab(t, device, url) }))
}

// TestHalfOpenStreamNoticed in Firefox (issue 18 #12): a stream that goes silent (not
// even the server's pings arrive) is noticed after a few heartbeats and replaced.
func TestFirefoxHalfOpenStreamNoticed(t *testing.T) {
	device := newFirefox(t)
	flowHalfOpenStreamNoticed(t, func(url string) page { return openFirefoxTab(t, device, url) }, "Firefox")
}
