package browser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Issue 16: a burst of one kind (a lesson of 6 videos finishing within a minute) shows
// as one grouped entry and one toast, expandable; the server still sends, keeps and
// marks each notification on its own. The screenshot of the expanded group goes to
// artifacts/browser/grouping.png, and with UPDATE_DOC_IMAGES=1 to docs/img/grouping.png
// (the README's).
func TestGroupedBurst(t *testing.T) {
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	pub := newPublisher(t, redisAddr, 0)
	pub.send("lesson", "video_failed", "Cell division")
	page := openTab(t, newBrowser(t), sys.url()+"/demo/?user=lesson")
	page.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 1 })
	titles := []string{"Lesson 1: Light", "Lesson 2: Chlorophyll", "Lesson 3: Water", "Lesson 4: Carbon dioxide", "Lesson 5: Glucose", "Lesson 6: Oxygen"}
	pub.jobs("lesson", titles)
	s := page.waitState(live, "six notifications", func(s pageState) bool { return len(s.Toasts) == 6 })
	checkList(t, "burst", s, append([]string{"Cell division"}, titles...))

	// One toast for the burst, with the count.
	if n := evalJS[int](page, `document.querySelectorAll("#toasts .toast").length`); n != 1 {
		t.Errorf("%d toasts on screen, want 1 for the burst", n)
	}
	if text := evalJS[string](page, `document.querySelector("#toasts .toast").textContent`); !strings.Contains(text, "6 videos are ready") {
		t.Errorf("burst toast %q", text)
	}
	// One grouped entry, collapsed, then expanded from the keyboard's button.
	groups := evalJS[[]string](page, `[...document.querySelectorAll("#list li.group .group-toggle")].map(b => b.textContent + "|" + b.getAttribute("aria-expanded"))`)
	if len(groups) != 1 || groups[0] != "6 videos are ready (6 unread)|false" {
		t.Fatalf("grouped entries %q", groups)
	}
	evalJS[bool](page, `(document.getElementById("bell").click(), true)`)
	if vis := evalJS[int](page, `[...document.querySelectorAll("#list li")].filter(li => li.offsetParent !== null).length`); vis != 2 {
		t.Errorf("collapsed: %d entries visible, want 2 (the group and the failure)", vis)
	}
	openList := `(document.querySelector("#list .group-toggle").click(),
		document.activeElement.className + "|" + document.querySelector("#list .group-toggle").getAttribute("aria-expanded"))`
	if got := evalJS[string](page, openList); got != "group-toggle|true" {
		t.Errorf("after expanding: focus and state %q", got)
	}
	if vis := evalJS[int](page, `document.querySelectorAll("#list li.group .group-body:not([hidden]) button.item").length`); vis != 6 {
		t.Errorf("expanded: %d notifications in the group, want 6", vis)
	}

	// Read state stays per notification: reading one of the group leaves five unread.
	id := evalJS[string](page, `(() => { const b = [...document.querySelectorAll("#list li.group button.item")].find(b => b.textContent.includes("Lesson 3")); b.click(); return b.closest("li").dataset.id; })()`)
	waitBadge(page, live, "after reading one of the group", 6) // 5 of the group + the failure
	waitFor(t, live, "group summary updated", func() bool {
		return evalJS[string](page, `document.querySelector("#list .group-toggle").textContent`) == "6 videos are ready (5 unread)"
	})
	var hist struct {
		Unread        int
		Notifications []struct {
			ID, Title string
			Read      bool
		}
	}
	apiJSON(t, sys, "lesson", "GET", "", "", &hist)
	if hist.Unread != 6 || len(hist.Notifications) != 7 {
		t.Errorf("server: unread %d of %d, want 6 of 7", hist.Unread, len(hist.Notifications))
	}
	for _, n := range hist.Notifications {
		if n.Read != (n.ID == id) {
			t.Errorf("server: %q read=%v", n.Title, n.Read)
		}
	}

	png, err := chromedp.Run(page.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if len(png) > 300<<10 {
		t.Errorf("screenshot is %d KB, want under 300 KB for the README", len(png)>>10)
	}
	// docs/img (the README's copy) is written only when asked: a test run must not
	// change tracked files.
	dirs := []string{filepath.Join("..", "..", "artifacts", "browser")}
	if os.Getenv("UPDATE_DOC_IMAGES") != "" {
		dirs = append(dirs, filepath.Join("..", "..", "docs", "img"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "grouping.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
