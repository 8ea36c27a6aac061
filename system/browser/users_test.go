package browser

import (
	"testing"
	"time"
)

// Issue 18 #1: two students in one browser (a shared school computer, or an app that
// keeps the JWT per tab) each see only their own notifications, each over their own
// stream; a tab whose student changes follows the new student.
func TestTwoStudentsOneBrowser(t *testing.T) {
	redisAddr := newRedis(t)
	browser := newBrowser(t)
	flowTwoStudentsOneBrowser(t, redisAddr, startLocal(t, redisAddr), func(url string) page { return openTab(t, browser, url) })
}

// Issue 18, smaller: the resume key follows the configured user claim. Two students
// whose tokens share a `sub` (the user is in `uid`, JWT_USER_CLAIM=uid): the second
// student's first visit shows their history as history, not as new notifications
// resumed from the first student's position.
func TestUserClaimKeysPosition(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr, "JWT_USER_CLAIM=uid")
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	browser := newBrowser(t)
	opts := map[string]any{"userClaim": "uid"}

	ann := openTab(t, browser, app.page("ann", opts, "claim", "uid"))
	ann.waitApp(live, "ann's tab open", isOpen)
	pub.send("ann", "video_complete", "ann-live")
	ann.waitApp(live, "ann's notification", func(s appState) bool { return len(s.Toasts) == 1 })
	ann.close()

	pub.send("ben", "video_complete", "ben-history") // before ben's first visit
	ben := openTab(t, browser, app.page("ben", opts, "claim", "uid"))
	ben.waitApp(live, "ben's tab open", isOpen)
	time.Sleep(500 * time.Millisecond) // history shown; nothing toasted
	s := ben.app()
	checkItems(t, "ben's first visit", s, []string{"ben-history"})
	if len(s.Toasts) != 0 {
		t.Errorf("ben's history was toasted as new (%d toasts): his position came from ann's", len(s.Toasts))
	}
	pub.send("ben", "video_complete", "ben-live")
	s = ben.waitApp(live, "ben's live notification", func(s appState) bool { return len(s.Toasts) >= 1 })
	time.Sleep(200 * time.Millisecond)
	checkItems(t, "ben", ben.app(), []string{"ben-history", "ben-live"})
}

// noWebLocks hides the Web Locks API, as in Safari before 15.4.
const noWebLocks = `Object.defineProperty(Navigator.prototype, "locks", { get() { return undefined; }, configurable: true });`

// Issue 18 #11: without Web Locks every tab streams; a tab refused by the per-user cap
// says so, backs off as Retry-After asks instead of retrying at once, and still shows
// what the other tabs receive.
func TestWithoutWebLocks(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr, "MAX_CONNS_PER_USER=2")
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	browser := newBrowser(t)
	url := app.page("nolocks", nil)
	var tabs []*tab
	for i := range 2 {
		tb := openTabInit(t, browser, url, noWebLocks)
		tb.waitApp(live, "tab open", isOpen)
		tabs = append(tabs, tb)
		_ = i
	}
	third := openTabInit(t, browser, url, noWebLocks)
	tabs = append(tabs, third)
	s := third.waitApp(live, "third tab refused by the cap", func(s appState) bool { return s.State == "reconnecting" })
	if s.Reason != "http-429" {
		t.Errorf("third tab: state %q reason %q, want reconnecting because of http-429", s.State, s.Reason)
	}
	since := time.Now()
	pub.send("nolocks", "video_complete", "nolocks-0")
	for i, tb := range tabs {
		s := tb.waitApp(live, "every tab shows it", hasTitles("nolocks-0"))
		if len(s.Toasts) != 1 {
			t.Errorf("tab %d: %d toasts, want 1", i, len(s.Toasts))
		}
	}
	time.Sleep(6*time.Second - time.Since(since))
	refused := 0
	for _, r := range app.requests("/stream", since) {
		if r.Status == 429 {
			refused++
		}
	}
	t.Logf("refused stream requests in 6 s: %d", refused)
	if refused > 2 {
		t.Errorf("%d refused stream requests in 6 s: the capped tab ignores Retry-After (5 s)", refused)
	}
	if n := sys.activeStreams(); n != 2 {
		t.Errorf("%d streams, want the cap of 2", n)
	}
}
