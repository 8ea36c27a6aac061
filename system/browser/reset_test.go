package browser

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// resetSetup leaves a browser whose stored position the server can no longer resume
// from: the student saw two notifications, closed the tab, and while away held+1 more
// arrived into a log capped at held, so the log lost the position and one notification
// after it ("expired"). The held ones are still there. Reopening the app resets.
type resetSetup struct {
	sys  *local
	app  *appServer
	pub  *publisher            // a normal log cap, for live notifications afterwards
	open func(url string) page // a tab in the browser (or Firefox user context) the test runs in
	user string
	held []string // the titles the log still holds, oldest first
}

func newResetSetup(t *testing.T, user string, held int) *resetSetup {
	t.Helper()
	browser := newBrowser(t)
	return newResetSetupIn(t, user, held, func(url string) page { return openTab(t, browser, url) })
}

// newResetSetupIn is newResetSetup in the browser open opens tabs in.
func newResetSetupIn(t *testing.T, user string, held int, open func(url string) page) *resetSetup {
	t.Helper()
	redisAddr := newRedis(t)
	r := &resetSetup{sys: startLocal(t, redisAddr), pub: newPublisher(t, redisAddr, 0), open: open, user: user}
	r.app = startApp(t, r.sys)
	first := r.open(r.app.page(user, nil))
	first.waitApp(live, "first visit open", isOpen)
	r.pub.jobs(user, []string{"seen-0", "seen-1"})
	first.waitApp(live, "first visit notifications", func(s appState) bool { return len(s.Toasts) == 2 })
	first.close()
	waitFor(t, live, "first visit's stream closed", func() bool { return r.sys.activeStreams() == 0 })
	missed := titlesN("missed", 0, held+1)
	newPublisher(t, redisAddr, held).jobs(user, missed)
	r.held = missed[1:]
	return r
}

// countResets counts the reset frames bin/local sends through the app's proxy.
func (r *resetSetup) resetsSeen() func() int64 {
	var n atomic.Int64
	prev := r.app.hook.Load()
	r.app.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if prev != nil && (*prev)(w, req) {
			return true
		}
		if !strings.HasSuffix(req.URL.Path, "/stream") {
			return false
		}
		r.app.streamThrough(w, req, func(line string) []string {
			if line == "event: reset" {
				n.Add(1)
			}
			return []string{line}
		})
		return true
	})
	return n.Load
}

// Issue 18 #3: after a reset, every notification the log still holds after the old
// position is listed once and toasted once — not handed to onHistory/onReset and to
// onNotification both.
func TestResetDeliversEachOnce(t *testing.T) {
	flowResetDeliversEachOnce(t, newResetSetup(t, "rita", 5))
}

func flowResetDeliversEachOnce(t *testing.T, r *resetSetup) {
	resets := r.resetsSeen()
	page := r.open(r.app.page(r.user, nil))
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

// Issue 18 #2: when the history cannot be fetched after a reset (here: two 503s), the
// list is not wiped and the position does not move past the gap: the client retries
// and the missed notifications still arrive, once.
func TestResetHistoryFailureLosesNothing(t *testing.T) {
	r := newResetSetup(t, "ruth", 5)
	var streamed atomic.Bool
	var failed atomic.Int64
	r.app.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if strings.HasSuffix(req.URL.Path, "/stream") {
			streamed.Store(true)
			return false
		}
		if req.URL.Path == "/api/v1/notifications" && streamed.Load() && failed.Add(1) <= 2 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"temporarily unavailable"}`))
			return true
		}
		return false
	})
	resets := r.resetsSeen()
	page := r.open(r.app.page(r.user, nil))
	page.waitApp(live, "missed notifications despite failed history fetches", hasTitles(r.held...))
	time.Sleep(500 * time.Millisecond) // let a duplicate arrive
	s := page.app()
	if failed.Load() < 2 || resets() == 0 {
		t.Fatalf("history failures %d, resets %d: the test did not exercise a failed recovery", failed.Load(), resets())
	}
	checkItems(t, "after a failed recovery", s, r.held)
	if n := checkToastsOnce(t, "after a failed recovery", s.Toasts); n != len(r.held) {
		t.Errorf("%d missed notifications toasted, want %d", n, len(r.held))
	}
	t.Logf("resets %d (the first recoveries failed, the position stayed; the next stream reset again)", resets())
}

// Issue 18 #4: live notifications arriving while the client refetches after a reset do
// not make it drop the gap, and a follower tab receives the recovered notifications too.
func TestResetWithLiveNotificationsAndFollower(t *testing.T) {
	flowResetWithLiveNotificationsAndFollower(t, newResetSetup(t, "rosa", 5))
}

func flowResetWithLiveNotificationsAndFollower(t *testing.T, r *resetSetup) {
	live3 := titlesN("live", 0, 3)
	var streamed atomic.Bool
	var once atomic.Bool
	// The refetch after the reset is held until the follower's page is open (and then
	// 1.5 s more), so the follower is there to receive what the leader recovers: a fixed
	// hold lost that race when a loaded machine opened the follower late.
	followerUp := make(chan struct{})
	r.app.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if strings.HasSuffix(req.URL.Path, "/stream") {
			streamed.Store(true)
		} else if req.URL.Path == "/api/v1/notifications" && streamed.Load() && once.CompareAndSwap(false, true) {
			// The refetch after the reset: live notifications arrive meanwhile.
			r.pub.jobs(r.user, live3)
			select {
			case <-followerUp:
			case <-time.After(30 * time.Second):
			}
			time.Sleep(1500 * time.Millisecond)
		}
		return false
	})
	resets := r.resetsSeen()
	leader := r.open(r.app.page(r.user, nil))
	waitFor(t, live, "the leader's stream", func() bool { return streamed.Load() })
	follower := r.open(r.app.page(r.user, nil))
	close(followerUp)
	want := append(append([]string{}, r.held...), live3...)
	for _, tb := range []page{leader, follower} {
		tb.waitApp(2*live, "every notification", hasTitles(want...))
	}
	time.Sleep(500 * time.Millisecond)
	if resets() == 0 || !once.Load() {
		t.Fatal("no reset, or nothing published during the refetch: the test did not exercise it")
	}
	for i, tb := range []page{leader, follower} {
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

// Issue 18 #5: recovery after a reset pages through the history (after/next): 300
// missed notifications, more than one page of 200 and far more than the 50 a page load
// shows, all arrive once.
func TestResetRecoveryPages(t *testing.T) {
	r := newResetSetup(t, "paula", 300)
	resets := r.resetsSeen()
	page := r.open(r.app.page(r.user, nil))
	page.waitApp(2*live, "300 missed notifications", func(s appState) bool { return len(s.Items) >= len(r.held) })
	time.Sleep(500 * time.Millisecond)
	s := page.app()
	if resets() == 0 {
		t.Fatal("the server sent no reset")
	}
	checkItems(t, "after recovering 300", s, r.held)
	if n := checkToastsOnce(t, "after recovering 300", s.Toasts); n != len(r.held) {
		t.Errorf("%d of %d missed notifications toasted", n, len(r.held))
	}
	pages := 0
	for _, q := range r.app.requests("/api/v1/notifications", time.Time{}) {
		if strings.Contains(q.Query, "after=") {
			pages++
		}
	}
	t.Logf("recovered %d notifications in %d history pages", len(r.held), pages)
	if pages < 2 {
		t.Errorf("%d history pages with after=, want at least 2", pages)
	}
}
