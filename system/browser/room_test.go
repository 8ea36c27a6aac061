package browser

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vividly-edu/notifications/system/browser/bidi"
)

// Issue 27: the "Watch together" page (demo/room.html) in Chromium and Firefox ESR in
// one room. The teacher (keyboard only: Tab to a control, Enter — in each browser)
// moves the class forward and seeks; the other browser's <video>.currentTime follows; a student's
// question reaches the teacher; both see both members; axe finds no violation in
// either view. Then the roles swap browsers in a second room. The lesson is the
// page's generated track (room-media.js), so nothing leaves the machine.
func TestWatchTogetherChromiumAndFirefox(t *testing.T) {
	axe, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatalf("axe-core %s not found (%v): run scripts/ensure-deps.sh, or set AXE_CORE_JS", axeVersion, err)
	}
	sys := startLocal(t, newRedis(t))
	chromium := newBrowser(t)
	ff := newFirefox(t)
	roomURL := func(room, user string, teacher bool) string {
		u := sys.url() + "/demo/room.html?room=" + room + "&user=" + user
		if teacher {
			u += "&role=teacher"
		}
		return u
	}

	// Room 1: the teacher in Chromium, the student in Firefox.
	teacher := openTab(t, chromium, roomURL("class-a", "ms-c", true))
	student := openFirefoxTab(t, ff, roomURL("class-a", "kim-f", false))
	waitMembers(t, "Chromium teacher", teacher, "kim-f", "ms-c")
	waitMembers(t, "Firefox student", student, "kim-f", "ms-c")
	if !student.evalBool(`document.getElementById("teacher-controls").hidden`) {
		t.Error("the student's view shows the class's playback controls")
	}

	// Keyboard: focus moves to "Forward 10 seconds" by Tab, Enter presses it.
	keyboardTo(t, teacher, "forward")
	teacher.do(chromedp.KeyEvent(kb.Enter))
	waitCurrentTime(t, "Firefox student after forward", student, 10)
	// The range input (keyboard: arrows; here its value is set as a drag would).
	teacher.run(`(() => { const s = document.getElementById("seek"); s.value = "42"; s.dispatchEvent(new Event("change")); })()`)
	waitCurrentTime(t, "Firefox student after seek", student, 42)
	waitCurrentTime(t, "Chromium teacher after seek", teacher, 42)

	student.run(`(() => { document.getElementById("ask").value = "Why is the sky blue?"; document.getElementById("ask-form").requestSubmit(); })()`)
	waitFor(t, live, "the question on the teacher's page", func() bool {
		return teacher.evalString(`document.getElementById("questions").textContent`) == "kim-f: Why is the sky blue?"
	})
	checkAxe(t, "Chromium teacher", teacher, axe)
	checkAxe(t, "Firefox student", student, axe)

	// Room 2: the teacher in Firefox, the student in Chromium; playing, then paused.
	teacher2 := openFirefoxTab(t, ff, roomURL("class-b", "mr-f", true))
	student2 := openTab(t, chromium, roomURL("class-b", "lee-c", false))
	waitMembers(t, "Chromium student", student2, "lee-c", "mr-f")
	// Keyboard in Firefox too: Tab to "Forward 10 seconds", Enter — twice.
	ffKeyboardTo(t, teacher2, "forward")
	for range 2 {
		ffPress(t, teacher2, bidi.KeyEnter)
	}
	waitCurrentTime(t, "Chromium student after two forwards", student2, 20)
	teacher2.run(`(() => { const s = document.getElementById("seek"); s.value = "30"; s.dispatchEvent(new Event("change")); })()`)
	waitCurrentTime(t, "Chromium student after seek", student2, 30)
	teacher2.run(`document.getElementById("play").click()`)
	waitFor(t, live, "the Chromium student playing", func() bool {
		return student2.evalBool(`!document.getElementById("video").paused && document.getElementById("video").currentTime > 30.2`)
	})
	teacher2.run(`document.getElementById("play").click()`)
	waitFor(t, live, "the Chromium student paused", func() bool {
		return student2.evalBool(`document.getElementById("video").paused`)
	})
	checkAxe(t, "Firefox teacher", teacher2, axe)
	checkAxe(t, "Chromium student", student2, axe)
}

// waitMembers waits until the page lists exactly users (sorted) and is connected.
func waitMembers(t *testing.T, who string, p page, users ...string) {
	t.Helper()
	want := strings.Join(users, ",")
	var got string
	waitFor(t, live, who+" to list "+want, func() bool {
		got = p.evalString(`window.vividlyRoom ? window.vividlyRoom.status + " " + window.vividlyRoom.members.join(",") : ""`)
		return got == "open "+want
	})
}

// waitCurrentTime waits until the page's <video> is within half a second of sec.
func waitCurrentTime(t *testing.T, who string, p page, sec float64) {
	t.Helper()
	var last float64
	waitFor(t, live, fmt.Sprintf("%s: currentTime %v", who, sec), func() bool {
		last, _ = strconv.ParseFloat(p.evalString(`String(document.getElementById("video").currentTime)`), 64)
		return math.Abs(last-sec) < 0.5
	})
	t.Logf("%s: currentTime %.2f", who, last)
}

// keyboardTo presses Tab until the element id has the focus (at most 20 times).
func keyboardTo(t *testing.T, tb *tab, id string) {
	t.Helper()
	for i := 0; i < 20; i++ {
		if tb.evalString(`document.activeElement ? document.activeElement.id : ""`) == id {
			return
		}
		tb.do(chromedp.KeyEvent(kb.Tab))
	}
	t.Fatalf("Tab never reached #%s", id)
}

// checkAxe runs axe-core in the page: no violation of any impact.
func checkAxe(t *testing.T, who string, p page, src []byte) {
	t.Helper()
	p.evalBool("(() => {\n" + string(src) + "\n;return true})()")
	if !p.evalBool(`axe.run(document, {resultTypes: ["violations"]}).then(r => { window.axeViolations = r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})); return true; })`) {
		t.Fatalf("%s: axe.run failed", who)
	}
	var vs []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal([]byte(p.evalString(`JSON.stringify(window.axeViolations)`)), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("%s: axe: %s (%s): %s at %s", who, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
	}
	t.Logf("%s: axe-core %s, %d violations", who, axeVersion, len(vs))
}

// ffKeyboardTo presses Tab in Firefox until the element id has the focus (at most 20).
func ffKeyboardTo(t *testing.T, ft *ffTab, id string) {
	t.Helper()
	for range 20 {
		if ft.evalString(`document.activeElement ? document.activeElement.id : ""`) == id {
			return
		}
		ffPress(t, ft, bidi.KeyTab)
	}
	t.Fatalf("Tab never reached #%s in Firefox", id)
}

func ffPress(t *testing.T, ft *ffTab, keys ...string) {
	t.Helper()
	ctx, cancel := ffCtx()
	defer cancel()
	if err := ft.tab.PressKeys(ctx, keys...); err != nil {
		t.Fatalf("keys in Firefox: %v", err)
	}
}
