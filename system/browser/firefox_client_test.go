package browser

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 18 in Firefox ESR: the app that uses notifications.js as the README shows
// (app_harness_test.go), with the same assertions as the Chromium tests of reset,
// close(), blocked browser APIs, auth failures and backoff.

// newFirefoxResetSetup is newResetSetup with the first visit in a Firefox device, which
// the test then reopens the app in.
func newFirefoxResetSetup(t *testing.T, user string, held int) (*resetSetup, *ffDevice) {
	t.Helper()
	redisAddr := newRedis(t)
	r := &resetSetup{sys: startLocal(t, redisAddr), pub: newPublisher(t, redisAddr, 0), user: user}
	r.app = startApp(t, r.sys)
	device := newFirefox(t)
	first := openFirefoxTab(t, device, r.app.page(user, nil))
	first.waitApp(live, "first visit open", isOpen)
	r.pub.jobs(user, []string{"seen-0", "seen-1"})
	first.waitApp(live, "first visit notifications", func(s appState) bool { return len(s.Toasts) == 2 })
	first.close()
	waitFor(t, live, "first visit's stream closed", func() bool { return r.sys.activeStreams() == 0 })
	missed := titlesN("missed", 0, held+1)
	newPublisher(t, redisAddr, held).jobs(user, missed)
	r.held = missed[1:]
	return r, device
}

// TestResetDeliversEachOnce in Firefox (issue 18 #3).
func TestFirefoxResetDeliversEachOnce(t *testing.T) {
	r, device := newFirefoxResetSetup(t, "rita", 5)
	resets := r.resetsSeen()
	page := openFirefoxTab(t, device, r.app.page(r.user, nil))
	page.waitApp(live, "missed notifications", hasTitles(r.held...))
	time.Sleep(500 * time.Millisecond) // let a duplicate arrive
	s := page.app()
	if resets() == 0 {
		t.Fatal("the server sent no reset: the test did not exercise one")
	}
	checkItems(t, "after the reset", s, r.held)
	if n := checkToastsOnce(t, "after the reset", s.Toasts); n != len(r.held) {
		t.Errorf("%d missed notifications toasted, want %d", n, len(r.held))
	}
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
	r, device := newFirefoxResetSetup(t, "rosa", 5)
	live3 := titlesN("live", 0, 3)
	var streamed atomic.Bool
	var once atomic.Bool
	r.app.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if strings.HasSuffix(req.URL.Path, "/stream") {
			streamed.Store(true)
		} else if req.URL.Path == "/api/v1/notifications" && streamed.Load() {
			if once.CompareAndSwap(false, true) {
				r.pub.jobs(r.user, live3)
			}
			time.Sleep(1500 * time.Millisecond)
		}
		return false
	})
	resets := r.resetsSeen()
	leader := openFirefoxTab(t, device, r.app.page(r.user, nil))
	waitFor(t, live, "the leader's stream", func() bool { return streamed.Load() })
	follower := openFirefoxTab(t, device, r.app.page(r.user, nil))
	want := append(append([]string{}, r.held...), live3...)
	for _, tb := range []*ffTab{leader, follower} {
		tb.waitApp(2*live, "every notification", hasTitles(want...))
	}
	time.Sleep(500 * time.Millisecond)
	if resets() == 0 || !once.Load() {
		t.Fatal("no reset, or nothing published during the refetch: the test did not exercise it")
	}
	for i, tb := range []*ffTab{leader, follower} {
		who := []string{"leader", "follower"}[i]
		s := tb.app()
		checkItems(t, who, s, want)
		if n := checkToastsOnce(t, who, s.Toasts); n != len(want) {
			t.Errorf("%s toasted %d of %d new notifications", who, n, len(want))
		}
	}
	if n := r.sys.activeStreams(); n != 1 {
		t.Errorf("%d streams for two tabs, want 1", n)
	}
}

// TestHalfOpenStreamNoticed in Firefox (issue 18 #12): a stream that goes silent (not
// even the server's pings arrive) is noticed after a few heartbeats and replaced.
func TestFirefoxHalfOpenStreamNoticed(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr, "HEARTBEAT_INTERVAL=300ms")
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	var frozen atomic.Bool
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/stream") {
			return false
		}
		app.streamThrough(w, r, func(line string) []string {
			if frozen.Load() {
				return nil
			}
			return []string{line}
		})
		return true
	})
	page := openFirefoxTab(t, newFirefox(t), app.page("hana", nil))
	page.waitApp(live, "open", isOpen)
	time.Sleep(1500 * time.Millisecond) // a few pings: the client learns the heartbeat
	frozen.Store(true)
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool { return false }) // new streams pass
	frozenAt := time.Now()
	pub.send("hana", "video_complete", "after-freeze")
	s := page.waitApp(live, "the notification over a new stream", func(s appState) bool { return len(s.Toasts) == 1 })
	t.Logf("Firefox: silent stream replaced and notification shown %v after the freeze", time.Since(frozenAt).Round(10*time.Millisecond))
	noticed := false
	for _, st := range s.Statuses {
		noticed = noticed || st.Reason == "heartbeat-timeout"
	}
	if !noticed {
		t.Errorf("no status with reason heartbeat-timeout: %+v", s.Statuses)
	}
}
