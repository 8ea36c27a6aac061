package browser

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// quotaScript makes storage writes fail once window.name (which survives a reload)
// says so: "quota-local" fills localStorage, "quota-all" every storage.
const quotaScript = `(() => {
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (k, v) {
    const full = window.name === "quota-all" || (window.name === "quota-local" && this === window.localStorage);
    if (full) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    return setItem.call(this, k, v);
  };
})();`

// Issue 18 #6: when storage writes start failing (quota), a reload does not re-toast
// what the page already showed: the stale position is dropped, not kept.
func TestStorageFullNoRetoast(t *testing.T) {
	flowStorageFullNoRetoast(t, openChromiumInit)
}

// openInit opens url in a tab of a fresh browser (or Firefox user context) with script
// ("" for none) run in every document before the page's own scripts.
type openInit func(t *testing.T, url, script string) page

// openChromiumInit is openInit in Chromium.
func openChromiumInit(t *testing.T, url, script string) page {
	return openTabInit(t, newBrowser(t), url, script+";")
}

// flowStorageFullNoRetoast is TestStorageFullNoRetoast in either browser.
func flowStorageFullNoRetoast(t *testing.T, open openInit) {
	for _, mode := range []string{"quota-local", "quota-all"} {
		t.Run(mode, func(t *testing.T) {
			redisAddr := newRedis(t)
			sys := startLocal(t, redisAddr)
			app := startApp(t, sys)
			pub := newPublisher(t, redisAddr, 0)
			page := open(t, app.page("quinn", nil), quotaScript)
			page.waitApp(live, "open", isOpen)
			pub.jobs("quinn", []string{"a-0", "a-1"})
			page.waitApp(live, "a toasted", func(s appState) bool { return len(s.Toasts) == 2 })
			page.run(`window.name = "` + mode + `"`)
			pub.jobs("quinn", []string{"b-0", "b-1"})
			before := page.waitApp(live, "b toasted", func(s appState) bool { return len(s.Toasts) == 4 })
			page.reload()
			if name := page.evalString(`window.name`); name != mode {
				t.Fatalf("window.name after the reload %q: the test did not exercise a full storage", name)
			}
			page.waitApp(live, "open after reload", isOpen)
			pub.jobs("quinn", []string{"c-0"})
			page.waitApp(live, "c listed", hasTitles("c-0"))
			time.Sleep(500 * time.Millisecond) // let a duplicate arrive
			s := page.app()
			checkItems(t, "after reload", s, []string{"a-0", "a-1", "b-0", "b-1", "c-0"})
			checkToastsOnce(t, "across the reload", append(before.Toasts, s.Toasts...))
			if len(s.Toasts) != 1 {
				t.Errorf("after the reload %d toasts, want 1 (c-0)", len(s.Toasts))
			}
		})
	}
}

// opaqueIDs rewrites every id bin/local sends (SSE id:, the JSON id, history next,
// reset oldest) into an opaque composite form whose string order is not the log's
// order, as Phase 2 may, and maps them back in requests (last_event_id, after).
// Each stream also starts with an `event: read` frame (Phase 2 read state).
func opaqueIDs(app *appServer) {
	rev := func(s string) string {
		b := []byte(s)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	}
	enc := func(id string) string { return "v2:" + rev(id) + ":all" }
	dec := func(s string) string {
		if strings.HasPrefix(s, "v2:") && strings.HasSuffix(s, ":all") {
			return rev(s[3 : len(s)-4])
		}
		return s
	}
	encJSON := func(v map[string]any) {
		for _, k := range []string{"id", "next", "oldest"} {
			if s, ok := v[k].(string); ok && s != "" {
				v[k] = enc(s)
			}
		}
		if list, ok := v["notifications"].([]any); ok {
			for _, n := range list {
				if m, ok := n.(map[string]any); ok {
					m["id"] = enc(m["id"].(string))
				}
			}
		}
	}
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		q := r.URL.Query()
		for _, k := range []string{"last_event_id", "after"} {
			if q.Has(k) {
				q.Set(k, dec(q.Get(k)))
			}
		}
		r.URL.RawQuery = q.Encode()
		switch {
		case strings.HasSuffix(r.URL.Path, "/stream"):
			injected := false
			app.streamThrough(w, r, func(line string) []string {
				if id, ok := strings.CutPrefix(line, "id: "); ok {
					return []string{"id: " + enc(id)}
				}
				if data, ok := strings.CutPrefix(line, "data: "); ok {
					var v map[string]any
					if jsonUnmarshal(data, &v) == nil {
						encJSON(v)
						return []string{"data: " + jsonMarshal(v)}
					}
				}
				if line == "" && !injected {
					injected = true
					return []string{"", "event: read", `data: {"ids":["v2:1-0:all"]}`, ""}
				}
				return []string{line}
			})
			return true
		case r.URL.Path == "/api/v1/notifications":
			app.jsonThrough(w, r, encJSON)
			return true
		}
		return false
	})
}

// Issue 18 #7: ids are opaque (Phase 2 may make them composite) and new notification
// types reach the app without the app listing them: nothing is dropped, nothing shown
// twice across a reload, and the resume uses the server's own id.
func TestOpaqueIDsAndNewTypes(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	app := startApp(t, sys)
	opaqueIDs(app)
	pub := newPublisher(t, redisAddr, 0)
	page := openTab(t, newBrowser(t), app.page("olga", map[string]any{"onRead": true}))
	page.waitApp(live, "open", isOpen)
	pub.send("olga", "video_complete", "job-0")
	pub.send("olga", "announcement", "maintenance")
	pub.send("olga", "video_failed", "job-1")
	before := page.waitApp(live, "three notifications", func(s appState) bool { return len(s.Toasts) >= 3 })
	page.do(chromedp.Reload())
	page.waitApp(live, "open after reload", isOpen)
	pub.send("olga", "grade_posted", "grade-0")
	pub.send("olga", "video_complete", "job-2")
	page.waitApp(live, "after reload", hasTitles("grade-0", "job-2"))
	time.Sleep(500 * time.Millisecond) // let a duplicate arrive
	s := page.app()
	checkItems(t, "olga", s, []string{"job-0", "maintenance", "job-1", "grade-0", "job-2"})
	checkToastsOnce(t, "across the reload", append(before.Toasts, s.Toasts...))
	if len(s.Toasts) != 2 {
		t.Errorf("%d toasts after the reload, want 2", len(s.Toasts))
	}
	types := map[string]bool{}
	for _, it := range s.Items {
		types[it.Type] = true
		if !strings.HasPrefix(it.ID, "v2:") {
			t.Errorf("item %q has id %q: not the server's opaque id", it.Title, it.ID)
		}
	}
	if !types["announcement"] || !types["grade_posted"] {
		t.Errorf("types shown %v: the new types did not reach the app", types)
	}
	if len(s.Reads) == 0 {
		t.Error("the read event did not reach onRead")
	}
	resumed := false
	for _, r := range app.requests("/stream", time.Time{}) {
		resumed = resumed || strings.Contains(r.Query, "last_event_id=v2%3A")
	}
	if !resumed {
		t.Error("no stream resumed from an opaque id")
	}
}

// Issue 18 #8: close() in the leader tab does not throw, nothing is called after it,
// requests in flight are aborted, and a StrictMode mount/unmount/mount leaves one
// working connection and one history.
func TestCloseIsClean(t *testing.T) {
	flowCloseIsClean(t, func(t *testing.T, url string) page { return openTab(t, newBrowser(t), url) })
}

// flowCloseIsClean is TestCloseIsClean for either browser: open gives each subtest a
// tab in a fresh browser (or Firefox user context).
func flowCloseIsClean(t *testing.T, open func(t *testing.T, url string) page) {
	t.Run("leader", func(t *testing.T) {
		redisAddr := newRedis(t)
		sys := startLocal(t, redisAddr)
		app := startApp(t, sys)
		pub := newPublisher(t, redisAddr, 0)
		page := open(t, app.page("cleo", nil))
		page.waitApp(live, "open", isOpen)
		waitFor(t, live, "one stream", func() bool { return sys.activeStreams() == 1 })
		if res := page.evalString(`(() => { try { handles[0].close(); return "ok"; } catch (e) { return String(e); } })()`); res != "ok" {
			t.Errorf("close() threw: %s", res)
		}
		before := page.app()
		pub.send("cleo", "video_complete", "after-close")
		time.Sleep(time.Second)
		after := page.app()
		if len(after.Statuses) != len(before.Statuses) || len(after.Items) != len(before.Items) || len(after.Toasts) != 0 {
			t.Errorf("callbacks after close(): statuses %d→%d, items %d→%d, toasts %d",
				len(before.Statuses), len(after.Statuses), len(before.Items), len(after.Items), len(after.Toasts))
		}
		if last := before.Statuses[len(before.Statuses)-1]; last.State != "closed" {
			t.Errorf("last status %q, want closed", last.State)
		}
		if len(after.Errors) > 0 {
			t.Errorf("page errors: %v", after.Errors)
		}
		waitFor(t, live, "the stream closed on the server", func() bool { return sys.activeStreams() == 0 })
	})
	t.Run("close while loading", func(t *testing.T) {
		sys := startLocal(t, newRedis(t))
		app := startApp(t, sys)
		var seen, aborted atomic.Int64
		app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/v1/notifications" {
				return false
			}
			seen.Add(1)
			select {
			case <-r.Context().Done():
				aborted.Add(1)
				return true
			case <-time.After(1500 * time.Millisecond):
				return false
			}
		})
		page := open(t, app.page("carl", nil))
		waitFor(t, live, "the history request", func() bool { return seen.Load() == 1 })
		page.run(`handles[0].close()`)
		time.Sleep(2 * time.Second)
		s := page.app()
		if aborted.Load() != 1 {
			t.Error("the history request in flight was not aborted by close()")
		}
		if s.SetItems != 0 || len(s.Errors) > 0 {
			t.Errorf("after close(): onHistory called %d times, errors %v", s.SetItems, s.Errors)
		}
		if n := len(app.requests("/stream", time.Time{})); n != 0 {
			t.Errorf("%d stream requests after close()", n)
		}
	})
	t.Run("StrictMode", func(t *testing.T) {
		redisAddr := newRedis(t)
		sys := startLocal(t, redisAddr)
		app := startApp(t, sys)
		pub := newPublisher(t, redisAddr, 0)
		var mu sync.Mutex
		var completed int
		app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/v1/notifications" {
				return false
			}
			select {
			case <-r.Context().Done():
				return true
			case <-time.After(700 * time.Millisecond):
			}
			mu.Lock()
			completed++
			mu.Unlock()
			return false
		})
		page := open(t, app.page("stella", map[string]any{"strict": true}))
		page.waitApp(live, "open", isOpen)
		pub.send("stella", "video_complete", "strict-0")
		s := page.waitApp(live, "toast", func(s appState) bool { return len(s.Toasts) >= 1 })
		time.Sleep(500 * time.Millisecond)
		s = page.app()
		mu.Lock()
		defer mu.Unlock()
		if s.SetItems != 1 || completed != 1 || len(s.Toasts) != 1 {
			t.Errorf("mount, unmount, mount: onHistory %d times, history requests answered %d, toasts %d; want 1 each",
				s.SetItems, completed, len(s.Toasts))
		}
		waitFor(t, live, "one stream", func() bool { return sys.activeStreams() == 1 })
	})
}

// Issue 18 #9: the client connects, and says why it could not share, when storage
// throws on access, when the Web Locks request is rejected, and when the app asks for
// more history than the server's 200.
func TestConnectsDespiteBrokenBrowserAPIs(t *testing.T) {
	flowConnectsDespiteBrokenBrowserAPIs(t, openChromiumInit, "Chromium")
}

// flowConnectsDespiteBrokenBrowserAPIs is TestConnectsDespiteBrokenBrowserAPIs in
// either browser: the page scripts run before the app's own (check proves they did).
func flowConnectsDespiteBrokenBrowserAPIs(t *testing.T, open openInit, browserName string) {
	cases := []struct {
		name, script, check string
		opts                map[string]any
	}{
		{"storage blocked", `Object.defineProperty(window, "localStorage", { get() { throw new DOMException("Access is denied for this document.", "SecurityError"); } });
Object.defineProperty(window, "sessionStorage", { get() { throw new DOMException("Access is denied for this document.", "SecurityError"); } });`,
			`(() => { try { localStorage; return false; } catch (e) { return e.name === "SecurityError"; } })()`, nil},
		{"web locks rejected", `LockManager.prototype.request = function () { return Promise.reject(new DOMException("The request is not allowed.", "SecurityError")); };`,
			`navigator.locks.request("probe", () => true).then(() => false, (e) => e.name === "SecurityError")`, nil},
		{"history limit over 200", "", "", map[string]any{"historyLimit": 500}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			redisAddr := newRedis(t)
			sys := startLocal(t, redisAddr)
			app := startApp(t, sys)
			pub := newPublisher(t, redisAddr, 0)
			pub.send("bea", "video_complete", "history-0")
			page := open(t, app.page("bea", c.opts), c.script)
			if c.check != "" && !page.evalBool(c.check) {
				t.Fatalf("the page's API is not broken (%s): the init script did not run", c.check)
			}
			page.waitApp(live, "open", isOpen)
			pub.send("bea", "video_complete", "live-0")
			s := page.waitApp(live, "live notification", func(s appState) bool { return len(s.Toasts) == 1 })
			checkItems(t, c.name, s, []string{"history-0", "live-0"})
			if len(s.Errors) > 0 {
				t.Errorf("page errors: %v", s.Errors)
			}
			t.Logf("%s status: %s %q", browserName, s.State, s.Reason)
		})
	}
}

// Issue 18 #10: auth failures are not retried forever: getToken returning null or
// throwing, or the server refusing the token, ends in state "unauthorized" with a
// reason, the app is asked to sign in, and nothing more is requested until it has.
func TestAuthFailuresStop(t *testing.T) {
	for _, c := range []struct{ mode, reason string }{{"null", "no-token"}, {"throw", "token-error"}, {"bad", "http-401"}} {
		t.Run(c.mode, func(t *testing.T) {
			redisAddr := newRedis(t)
			sys := startLocal(t, redisAddr)
			app := startApp(t, sys)
			pub := newPublisher(t, redisAddr, 0)
			page := openTab(t, newBrowser(t), app.page("ursula", nil, "auth", c.mode))
			s := page.waitApp(live, "unauthorized", func(s appState) bool { return s.State == "unauthorized" })
			if s.Reason != c.reason || s.SignIn != 1 {
				t.Errorf("unauthorized because %q, sign-in asked %d times; want %q, once", s.Reason, s.SignIn, c.reason)
			}
			since := time.Now()
			calls := s.TokenCalls
			time.Sleep(3 * time.Second)
			if n := len(app.requests("/api/v1/notifications", since)) + len(app.requests("/stream", since)); n > 0 {
				t.Errorf("%d API requests in the 3 s after unauthorized", n)
			}
			s = page.app()
			t.Logf("API requests before unauthorized %d, getToken calls %d (then %d more in 3 s: the check for a new credential)",
				len(app.requests("", time.Time{})), calls, s.TokenCalls-calls)
			// Signed in again: the app calls reconnect().
			evalJS[any](page, `app.auth.mode = "ok"; handles[0].reconnect()`)
			page.waitApp(live, "open after signing in", isOpen)
			pub.send("ursula", "video_complete", "welcome-back")
			page.waitApp(live, "notification after signing in", func(s appState) bool { return len(s.Toasts) == 1 })
		})
	}
}

// Issue 18 #12: a half-open connection (nothing arrives, not even the server's pings)
// is noticed after a few heartbeats and replaced.
func TestHalfOpenStreamNoticed(t *testing.T) {
	browser := newBrowser(t)
	flowHalfOpenStreamNoticed(t, func(url string) page { return openTab(t, browser, url) }, "Chromium")
}

// flowHalfOpenStreamNoticed is TestHalfOpenStreamNoticed in either browser.
func flowHalfOpenStreamNoticed(t *testing.T, open func(url string) page, browserName string) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr, "HEARTBEAT_INTERVAL=300ms")
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	var frozen atomic.Bool
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/stream") {
			return false
		}
		// Streams opened through this hook go silent once frozen: the connection stays
		// up, nothing reaches the browser (streams opened after the freeze pass).
		app.streamThrough(w, r, func(line string) []string {
			if frozen.Load() {
				return nil
			}
			return []string{line}
		})
		return true
	})
	page := open(app.page("hana", nil))
	page.waitApp(live, "open", isOpen)
	time.Sleep(1500 * time.Millisecond) // a few pings: the client learns the heartbeat
	frozen.Store(true)
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool { return false }) // new streams pass
	frozenAt := time.Now()
	pub.send("hana", "video_complete", "after-freeze")
	s := page.waitApp(live, "the notification over a new stream", func(s appState) bool { return len(s.Toasts) == 1 })
	t.Logf("%s: silent stream replaced and notification shown %v after the freeze", browserName, time.Since(frozenAt).Round(10*time.Millisecond))
	noticed := false
	for _, st := range s.Statuses {
		noticed = noticed || st.Reason == "heartbeat-timeout"
	}
	if !noticed {
		t.Errorf("no status with reason heartbeat-timeout: %+v", s.Statuses)
	}
}
