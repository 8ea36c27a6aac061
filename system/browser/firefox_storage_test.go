package browser

import "testing"

// Issue 18 in Firefox ESR, storage: blocked by a page script (as in the Chromium
// tests), blocked by Firefox itself, and full. TestFirefoxRealBlockedStorage has a
// Firefox of its own (a browser-wide preference); this file's name sorts after the
// other Firefox tests' files, so their shared browser's launch, which comes first,
// starts this one's alongside it.

// TestConnectsDespiteBrokenBrowserAPIs in Firefox (issue 18 #9): the same page
// scripts as the Chromium test, run before the app's own (check proves they did),
// and a history limit over the server's 200.
func TestFirefoxConnectsDespiteBrokenBrowserAPIs(t *testing.T) {
	flowConnectsDespiteBrokenBrowserAPIs(t, openFirefoxInit, "Firefox")
}

// TestStorageFullNoRetoast in Firefox (issue 18 #6): when storage writes start failing
// (quota), a reload does not re-toast what the page already showed.
func TestFirefoxStorageFullNoRetoast(t *testing.T) {
	flowStorageFullNoRetoast(t, openFirefoxInit)
}

// openFirefoxInit is openInit in Firefox: a tab of a fresh user context, served
// through withInitScript's origin only when there is a script.
func openFirefoxInit(t *testing.T, url, script string) page {
	if script == "" {
		return openFirefoxTab(t, newFirefox(t), url)
	}
	return openFirefoxTabInit(t, newFirefox(t), url, script+";")
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
	flowDemoWithBlockedStorage(t, pub, openFirefoxTab(t, device, sys.url()+"/demo/?user=blocky"), "demo, storage blocked by Firefox")
}
