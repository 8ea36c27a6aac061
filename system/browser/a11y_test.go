package browser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// axeVersion is the axe-core release scripts/ensure-deps.sh installs.
const axeVersion = "4.10.3"

// axePath finds axe.min.js: AXE_CORE_JS, else the cache folder ensure-deps.sh fills
// (npm install --prefix "${XDG_CACHE_HOME:-~/.cache}/vividly-axe" axe-core@<axeVersion>).
func axePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AXE_CORE_JS"); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(cache, "vividly-axe", "node_modules", "axe-core", "axe.min.js")
}

// Issue 16: an automated accessibility check of the demo centre — axe-core injected
// into the page with the list open, a group expanded and the preferences shown — finds
// no serious or critical violation; the live region and keyboard use stay.
func TestDemoAccessibility(t *testing.T) {
	src, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatalf("axe-core %s not found (%v): run scripts/ensure-deps.sh, or set AXE_CORE_JS", axeVersion, err)
	}
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	pub := newPublisher(t, redisAddr, 0)
	pub.send("ally", "video_failed", "Mitosis")
	pub.jobs("ally", []string{"Light", "Water", "Oxygen"})
	page := openTab(t, newBrowser(t), sys.url()+"/demo/?user=ally")
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 4 })
	waitFor(t, live, "preferences panel", func() bool { return evalJS[bool](page, `!document.getElementById("prefs").hidden`) })
	pub.send("ally", "announcement", "Welcome")
	page.waitState(live, "toast", func(s pageState) bool { return len(s.Toasts) == 1 })

	// Keyboard: the bell is a button that opens the list; Escape closes it and gives
	// the focus back to the bell.
	kb := evalJS[string](page, `(() => {
		const bell = document.getElementById("bell");
		bell.focus(); bell.click();
		const opened = bell.getAttribute("aria-expanded");
		document.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape"}));
		const closed = bell.getAttribute("aria-expanded") + (document.activeElement === bell ? " focus-on-bell" : "");
		bell.click();
		document.querySelector("#list .group-toggle").click();
		return opened + " " + closed;
	})()`)
	if kb != "true false focus-on-bell" {
		t.Errorf("keyboard: %q", kb)
	}
	if live := evalJS[string](page, `document.getElementById("toasts").getAttribute("aria-live")`); live != "polite" {
		t.Errorf("toast region aria-live %q", live)
	}

	evalJS[bool](page, string(src)+"\n;true")
	type violation struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	vs := evalAsync[[]violation](page, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({target: n.target.map(String)}))})))`)
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, strings.Join(n.Target, " "))
		}
		msg := v.ID + " (" + v.Impact + "): " + v.Help + " at " + strings.Join(where, ", ")
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe: %s", msg)
		} else {
			t.Logf("axe, %s", msg)
		}
	}
	t.Logf("axe-core %s: %d violations in all", axeVersion, len(vs))
}
