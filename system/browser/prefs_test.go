package browser

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Issue 16: preferences round-trip through the demo's panel and the server, and a
// muted type is not shown live (it stays in history), from the next notification on.
func TestPreferencesRoundTripAndMute(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	pub := newPublisher(t, redisAddr, 0)
	page := openTab(t, newBrowser(t), sys.url()+"/demo/?user=prefs")
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	waitFor(t, live, "preferences panel", func() bool { return evalJS[bool](page, `!document.getElementById("prefs").hidden`) })
	if got := evalAsync[string](page, `window.vividlyDemo.handle.getPreferences().then(JSON.stringify)`); got != `{"muted_types":[],"push":true,"push_muted_types":[],"quiet_hours":null}` {
		t.Errorf("default preferences %s", got)
	}

	// Mute failures and turn push off in the panel: the server stores it.
	evalJS[bool](page, `(document.querySelector('#mute-types input[value="video_failed"]').click(), true)`)
	waitFor(t, live, "saved", func() bool {
		return evalJS[string](page, `document.getElementById("prefs-result").textContent`) == "Saved."
	})
	evalJS[bool](page, `(document.getElementById("prefs-result").textContent = "", document.getElementById("pref-push").click(), true)`)
	waitFor(t, live, "saved again", func() bool {
		return evalJS[string](page, `document.getElementById("prefs-result").textContent`) == "Saved."
	})
	var p struct {
		MutedTypes []string `json:"muted_types"`
		Push       bool
	}
	if code := apiJSON(t, sys, "prefs", "GET", "/preferences", "", &p); code != 200 || !slices.Equal(p.MutedTypes, []string{"video_failed"}) || p.Push {
		t.Errorf("server has HTTP %d %+v, want video_failed muted and push off", code, p)
	}

	// Mute works live: the muted type published first is not shown, the next one is.
	pub.send("prefs", "video_failed", "muted-0")
	pub.send("prefs", "video_complete", "shown-0")
	s := page.waitState(live, "the unmuted notification", func(s pageState) bool { return len(s.Toasts) >= 1 })
	checkList(t, "with video_failed muted", s, []string{"shown-0"})
	if len(s.Toasts) != 1 {
		t.Errorf("%d toasts, want 1", len(s.Toasts))
	}

	// Round trip: a reload shows what the server stored; the muted one is in history.
	page.do(chromedp.Reload())
	s = page.waitState(live, "reloaded", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 2 })
	checkList(t, "history after reload", s, []string{"muted-0", "shown-0"})
	waitFor(t, live, "preferences shown", func() bool { return evalJS[bool](page, `!document.getElementById("prefs").hidden`) })
	state := evalJS[string](page, `[...document.querySelectorAll('#mute-types input')].map(c => c.value + "=" + c.checked).join(",") + ",push=" + document.getElementById("pref-push").checked`)
	if state != "video_complete=false,video_failed=true,announcement=false,push=false" {
		t.Errorf("panel after reload: %s", state)
	}

	// Unmute through the client API: live again.
	if got := evalAsync[string](page, `window.vividlyDemo.handle.setPreferences({muted_types: []}).then(JSON.stringify)`); got != `{"muted_types":[],"push":false,"push_muted_types":[],"quiet_hours":null}` {
		t.Errorf("setPreferences kept push? got %s", got)
	}
	pub.send("prefs", "video_failed", "unmuted-0")
	page.waitState(live, "unmuted type shown live", func(s pageState) bool { return slices.Contains(s.titles(), "unmuted-0") })

	// A bad document is refused with the server's 400, and nothing changes.
	if got := evalAsync[string](page, `window.vividlyDemo.handle.setPreferences({muted_types: ["Not A Type"], push: true}).then(() => "stored", e => e.kind + " " + e.status)`); got != "http 400" {
		t.Errorf("bad preferences: %s, want http 400", got)
	}
	if got := evalAsync[string](page, `window.vividlyDemo.handle.getPreferences().then(JSON.stringify)`); !strings.Contains(got, `"push":false`) {
		t.Errorf("preferences after a refused update: %s", got)
	}
}
