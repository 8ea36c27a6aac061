package browser

import "testing"

// Issue 30 B10: the handle's state and role say what the last onStatus said — in a
// follower tab (whose state comes from the leader over BroadcastChannel) and after
// close(), which used to leave "open"/"leader" and "waiting" behind.
func TestHandleStateFollowsStatus(t *testing.T) {
	browser := newBrowser(t)
	flowHandleStateFollowsStatus(t, func(url string) page { return openTab(t, browser, url) })
}

// TestHandleStateFollowsStatus in Firefox: two tabs of one user context.
func TestFirefoxHandleStateFollowsStatus(t *testing.T) {
	device := newFirefox(t)
	flowHandleStateFollowsStatus(t, func(url string) page { return openFirefoxTab(t, device, url) })
}

func flowHandleStateFollowsStatus(t *testing.T, open func(url string) page) {
	t.Helper()
	sys := startLocal(t, newRedis(t))
	app := startApp(t, sys)
	first := open(app.page("hana", nil))
	first.waitApp(live, "first tab open", isOpen)
	second := open(app.page("hana", nil))
	second.waitApp(live, "second tab open", isOpen)
	waitFor(t, live, "one stream for two tabs", func() bool { return sys.activeStreams() == 1 })

	roles := map[string]int{}
	for i, p := range []page{first, second} {
		state, role := p.evalString(`handles[0].state`), p.evalString(`handles[0].role`)
		if state != "open" {
			t.Errorf("tab %d: handle.state %q while its last onStatus said open", i, state)
		}
		roles[role]++
	}
	if roles["leader"] != 1 || roles["follower"] != 1 {
		t.Errorf("handle roles %v, want one leader and one follower", roles)
	}
	for i, p := range []page{first, second} {
		p.run(`handles[0].close()`)
		if state, role := p.evalString(`handles[0].state`), p.evalString(`handles[0].role`); state != "closed" || role != "none" {
			t.Errorf("tab %d after close(): state %q, role %q; want closed, none", i, state, role)
		}
	}
}
