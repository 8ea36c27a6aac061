package browser

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// flowInboxPreferences: the panel's push-only switch and quiet hours are stored by the
// server with the one preferences call, and a reload shows what it stored; turning quiet
// hours off stores null; in-app mutes are left as they were.
func flowInboxPreferences(t *testing.T, sys *local, open func(string) page) {
	user := "quiet"
	p := open(sys.url() + "/demo/?user=" + user)
	p.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	waitFor(t, live, "preferences panel", func() bool { return p.evalBool(`!document.getElementById("prefs").hidden`) })
	if zone := p.evalString(`document.getElementById("qh-zone").value`); zone == "" {
		t.Error("no time zone preselected")
	}

	saved := func(what string) {
		t.Helper()
		waitFor(t, live, what+" saved", func() bool { return p.evalString(`document.getElementById("prefs-result").textContent`) == "Saved." })
		p.run(`document.getElementById("prefs-result").textContent = ""`)
	}
	p.run(`document.querySelector('#push-mute-types input[value="announcement"]').click()`)
	saved("push-only mute")
	p.run(`(() => {
		document.getElementById("qh-start").value = "22:00";
		document.getElementById("qh-end").value = "06:30";
		document.getElementById("qh-zone").value = "Europe/Berlin";
		document.getElementById("qh-on").click();
	})()`)
	saved("quiet hours")

	type quiet struct{ Start, End, TimeZone string }
	var got struct {
		MutedTypes     []string `json:"muted_types"`
		PushMutedTypes []string `json:"push_muted_types"`
		QuietHours     *struct {
			Start, End string
			TimeZone   string `json:"time_zone"`
		} `json:"quiet_hours"`
	}
	if code := apiJSON(t, sys, user, "GET", "/preferences", "", &got); code != 200 || len(got.MutedTypes) != 0 ||
		!slices.Equal(got.PushMutedTypes, []string{"announcement"}) || got.QuietHours == nil ||
		(quiet{got.QuietHours.Start, got.QuietHours.End, got.QuietHours.TimeZone} != quiet{"22:00", "06:30", "Europe/Berlin"}) {
		t.Fatalf("server has HTTP %d %+v %+v", code, got, got.QuietHours)
	}

	// Round trip: a reload shows the stored document.
	p.reload()
	p.waitState(live, "reloaded", func(s pageState) bool { return s.Status.State == "open" })
	waitFor(t, live, "preferences shown", func() bool { return p.evalBool(`!document.getElementById("prefs").hidden`) })
	form := `[...document.querySelectorAll('#push-mute-types input')].map(c => c.value + "=" + c.checked).join(",") +
		" " + ["qh-on", "qh-start", "qh-end", "qh-zone"].map(id => { const e = document.getElementById(id); return e.type === "checkbox" ? e.checked : e.value; }).join(",")`
	want := "video_complete=false,video_failed=false,announcement=true true,22:00,06:30,Europe/Berlin"
	waitFor(t, live, "form after reload", func() bool { return p.evalString(form) == want })

	// Off: quiet_hours null, the rest kept.
	p.run(`document.getElementById("qh-on").click()`)
	saved("quiet hours off")
	got.QuietHours = nil
	if code := apiJSON(t, sys, user, "GET", "/preferences", "", &got); code != 200 || got.QuietHours != nil || !slices.Equal(got.PushMutedTypes, []string{"announcement"}) {
		t.Errorf("after turning quiet hours off: HTTP %d %+v", code, got)
	}
}

func TestInboxPreferencesQuietHours(t *testing.T) {
	sys := startLocal(t, newRedis(t))
	browser := newBrowser(t)
	flowInboxPreferences(t, sys, func(url string) page { return openTab(t, browser, url) })
}

func TestFirefoxInboxPreferencesQuietHours(t *testing.T) {
	sys := startLocal(t, newRedis(t))
	device := newFirefox(t)
	flowInboxPreferences(t, sys, func(url string) page { return openFirefoxTab(t, device, url) })
}

// flowInboxAccessibility: with the list open (filters, item actions, the unseen pill),
// the preferences panel showing quiet hours, axe-core finds no violation at all; the
// chips are toggle buttons and the panel's status is a live region.
func flowInboxAccessibility(t *testing.T, sys *local, pub *publisher, open func(string) page) {
	src, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatalf("axe-core %s not found (%v): run scripts/ensure-deps.sh, or set AXE_CORE_JS", axeVersion, err)
	}
	publishInbox(pub, "axeinbox", "a", 4)
	p := open(sys.url() + "/demo/?user=axeinbox&history_limit=3")
	p.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 3 })
	waitFor(t, live, "preferences panel", func() bool { return p.evalBool(`!document.getElementById("prefs").hidden`) })
	p.run(`(document.getElementById("bell").click(), document.getElementById("qh-on").click())`)
	waitFor(t, live, "load older shown", func() bool { return p.evalBool(`!document.getElementById("load-older").hidden`) })
	waitSeen(t, sys, "axeinbox") // the bell's seen mark has landed: "fresh" stays new
	pub.send("axeinbox", "announcement", "fresh")
	waitFor(t, live, "new pill", func() bool { return unseenPill(p) == 1 })
	if got := p.evalString(`[...document.querySelectorAll("#filters .chip")].map(b => b.getAttribute("aria-pressed")).join(",") + " " + document.getElementById("inbox-status").getAttribute("aria-live") + " " + document.getElementById("bell").getAttribute("aria-label")`); got != "true,false,false,false,false,false polite Notifications, 5 unread, 1 new" {
		t.Errorf("chips, live region, bell: %q", got)
	}

	// One expression (Firefox evaluates an expression, not a script): axe, then its run.
	p.run("(function () {\n" + string(src) + `;
		window.__axe = "";
		axe.run(document, {resultTypes: ["violations"]}).then(r => window.__axe = JSON.stringify(
			r.violations.map(v => v.id + " (" + v.impact + "): " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", "))));
		return true;
	})()`)
	var res string
	waitFor(t, 60*time.Second, "axe", func() bool { res = p.evalString(`window.__axe || ""`); return res != "" })
	if res != "[]" {
		t.Errorf("axe-core %s violations: %s", axeVersion, strings.ReplaceAll(res, `","`, "\n"))
	}
	t.Logf("axe-core %s on the inbox: %s", axeVersion, res)

	// Keyboard: archiving the focused item leaves the focus in the list (on the pressed
	// chip), not on the page's start, and the live region says what happened.
	p.run(`(() => { const b = document.querySelector('#list li[data-title="a-2"] .archive-btn'); b.focus(); b.click(); })()`)
	var focus string
	waitFor(t, live, "archived, focus kept", func() bool {
		focus = p.evalString(`document.getElementById("inbox-status").textContent + "|" + (document.activeElement.dataset.filter || document.activeElement.tagName) + "|" + document.querySelectorAll('#list li[data-title="a-2"]').length`)
		return focus == "Archived: a-2.|all|0" || strings.HasPrefix(focus, "Archived: a-2.|BODY")
	})
	if focus != "Archived: a-2.|all|0" {
		t.Errorf("after archiving the focused item: %q, want the status said and the focus on the All chip", focus)
	}
}

func TestInboxAccessibility(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	browser := newBrowser(t)
	flowInboxAccessibility(t, sys, newPublisher(t, redisAddr, 0), func(url string) page { return openTab(t, browser, url) })
}

func TestFirefoxInboxAccessibility(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	device := newFirefox(t)
	flowInboxAccessibility(t, sys, newPublisher(t, redisAddr, 0), func(url string) page { return openFirefoxTab(t, device, url) })
}
