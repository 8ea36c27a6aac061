package browser

import (
	"testing"
	"time"
)

// Issue 18 in Firefox ESR, storage: blocked by a page script (as in the Chromium
// tests), blocked by Firefox itself, and full. TestFirefoxRealBlockedStorage has a
// Firefox of its own (a browser-wide preference); this file's name sorts after the
// other Firefox tests' files, so their shared browser's launch, which comes first,
// starts this one's alongside it.

// TestConnectsDespiteBrokenBrowserAPIs in Firefox (issue 18 #9): the same page
// scripts as the Chromium test, run before the app's own (check proves they did),
// and a history limit over the server's 200.
func TestFirefoxConnectsDespiteBrokenBrowserAPIs(t *testing.T) {
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
			var page *ffTab
			if c.script == "" {
				page = openFirefoxTab(t, newFirefox(t), app.page("bea", c.opts))
			} else {
				page = openFirefoxTabInit(t, newFirefox(t), app.page("bea", c.opts), c.script+";")
				if !ffEval[bool](page, c.check) {
					t.Fatalf("the page's API is not broken (%s): the init script did not run", c.check)
				}
			}
			page.waitApp(live, "open", isOpen)
			pub.send("bea", "video_complete", "live-0")
			s := page.waitApp(live, "live notification", func(s appState) bool { return len(s.Toasts) == 1 })
			checkItems(t, c.name, s, []string{"history-0", "live-0"})
			if len(s.Errors) > 0 {
				t.Errorf("page errors: %v", s.Errors)
			}
			t.Logf("Firefox status: %s %q", s.State, s.Reason)
		})
	}
}

// TestStorageFullNoRetoast in Firefox (issue 18 #6): when storage writes start failing
// (quota), a reload does not re-toast what the page already showed.
func TestFirefoxStorageFullNoRetoast(t *testing.T) {
	for _, mode := range []string{"quota-local", "quota-all"} {
		t.Run(mode, func(t *testing.T) {
			redisAddr := newRedis(t)
			sys := startLocal(t, redisAddr)
			app := startApp(t, sys)
			pub := newPublisher(t, redisAddr, 0)
			page := openFirefoxTabInit(t, newFirefox(t), app.page("quinn", nil), quotaScript)
			page.waitApp(live, "open", isOpen)
			pub.jobs("quinn", []string{"a-0", "a-1"})
			page.waitApp(live, "a toasted", func(s appState) bool { return len(s.Toasts) == 2 })
			page.eval(`window.name = "`+mode+`"`, nil)
			pub.jobs("quinn", []string{"b-0", "b-1"})
			before := page.waitApp(live, "b toasted", func(s appState) bool { return len(s.Toasts) == 4 })
			page.reload()
			if name := ffEval[string](page, `window.name`); name != mode {
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

// Firefox's own storage blocking (cookies blocked: network.cookie.cookieBehavior 2),
// not a script's stand-in: localStorage and sessionStorage throw SecurityError on
// access, and so do the BroadcastChannel constructor and navigator.locks.request —
// more than the Chromium test's script takes away. The app and the demo still connect,
// show history and live notifications, and raise no error. The preference is the
// browser's, so this test has a Firefox of its own (blockedFirefox).
func TestFirefoxRealBlockedStorage(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	app := startApp(t, sys)
	pub := newPublisher(t, redisAddr, 0)
	device := &ffDevice{b: blockedFirefox.get(t)} // its default user context
	t.Cleanup(blockedFirefox.close)               // no other test uses it

	pub.send("bea", "video_complete", "history-0")
	page := openFirefoxTab(t, device, app.page("bea", nil))
	var blocked map[string]string
	page.eval(`(async () => {
		const why = async (f) => { try { await f(); return "allowed"; } catch (e) { return e.name; } };
		return {
			localStorage: await why(() => localStorage.length),
			sessionStorage: await why(() => sessionStorage.length),
			BroadcastChannel: await why(() => new BroadcastChannel("probe").close()),
			locks: await why(() => navigator.locks.request("probe", () => true)),
		};
	})()`, &blocked)
	for api, got := range blocked {
		if got != "SecurityError" {
			t.Errorf("with cookies blocked, %s: %s, want SecurityError", api, got)
		}
	}
	page.waitApp(live, "open", isOpen)
	// A second tab of the same student: no channel or lock to share through, so each
	// tab streams on its own, and each shows every notification once.
	second := openFirefoxTab(t, device, app.page("bea", nil))
	second.waitApp(live, "second tab open", isOpen)
	pub.send("bea", "video_complete", "live-0")
	for i, tb := range []*ffTab{page, second} {
		who := []string{"first tab", "second tab"}[i]
		s := tb.waitApp(live, "live notification", func(s appState) bool { return len(s.Toasts) == 1 })
		checkItems(t, who+", storage blocked by Firefox", s, []string{"history-0", "live-0"})
		if len(s.Errors) > 0 {
			t.Errorf("%s: page errors: %v", who, s.Errors)
		}
		last := ffEval[map[string]any](tb, `app.raw.at(-1)`)
		t.Logf("Firefox, storage blocked, %s: status %v %q, role %v, shared %v", who, last["state"], last["reason"], last["role"], last["shared"])
	}
	t.Logf("Firefox, storage blocked: %d streams for two tabs of one student", sys.activeStreams())

	// TestDemoWithBlockedStorage, with Firefox's own blocking.
	demo := openFirefoxTab(t, device, sys.url()+"/demo/?user=blocky")
	demo.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	pub.send("blocky", "video_complete", "blocked-0")
	ds := demo.waitState(live, "toast", func(s pageState) bool { return len(s.Toasts) == 1 })
	if hidden := ffEval[bool](demo, `(document.getElementById("mark-all").click(), document.getElementById("badge").hidden)`); !hidden {
		t.Error("mark all as read did not clear the badge")
	}
	checkList(t, "demo, storage blocked by Firefox", ds, []string{"blocked-0"})
}
