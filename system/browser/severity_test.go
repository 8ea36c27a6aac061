package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Issue 15 in the demo centre, in both browsers: notifications from any service render
// by severity (a labelled chip, not colour alone), unknown types render generically,
// everything a service sends is shown as text, only https links become links, and an
// expired notification is never shown. The flows are written once (page interface);
// TestSeverity* run them in Chromium, TestFirefoxSeverity* in Firefox ESR.

func TestSeverityAndGenericTypes(t *testing.T) {
	browser := newBrowser(t)
	flowSeverityAndGenericTypes(t, func(url string) page { return openTab(t, browser, url) })
}

func TestFirefoxSeverityAndGenericTypes(t *testing.T) {
	device := newFirefox(t)
	flowSeverityAndGenericTypes(t, func(url string) page { return openFirefoxTab(t, device, url) })
}

func TestSeverityExpiryWithClientClockAhead(t *testing.T) {
	browser := newBrowser(t)
	flowExpiry(t, func(url, script string) page { return openTabInit(t, browser, url, script) })
}

func TestFirefoxSeverityExpiryWithClientClockAhead(t *testing.T) {
	device := newFirefox(t)
	flowExpiry(t, func(url, script string) page { return openFirefoxTabInit(t, device, url, script) })
}

// classGroup is the group the tests' tokens name (the groups claim, JWT_GROUPS_CLAIM).
const classGroup = "class-7b"

// demoWithGroups serves the demo through an app origin whose /demo/dev-token mints
// tokens naming classGroup in their groups claim (bin/local's helper names none), so
// the page's stream also reads the group's log and the broadcast log. noCSP drops the
// demo's Content-Security-Policy, for Firefox's init script (an inline <script>, see
// withInitScript); Chromium injects its own past the policy.
func demoWithGroups(t *testing.T, sys *local, noCSP bool) *appServer {
	t.Helper()
	app := startApp(t, sys)
	app.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.URL.Path == "/demo/dev-token":
			user := r.URL.Query().Get("user")
			c := jwt.MapClaims{"sub": user, "groups": []string{classGroup}, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSecret))
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"token": tok, "user": user})
			return true
		case noCSP && r.URL.Path == "/demo/":
			rec := httptest.NewRecorder()
			app.proxy.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				if k != "Content-Security-Policy" && k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return true
		}
		return false
	})
	return app
}

// announce publishes n to source's log (a user id, broker.GroupSource(g) or
// broker.Everyone) as the Publish entry point stores it, without its validation (so a
// test can send what a faulty or hostile producer might), and returns its id.
func announce(t *testing.T, pub *publisher, source string, n notification.Notification) string {
	t.Helper()
	n.CreatedAt = notification.Timestamp{Time: time.Now()}
	id, _, err := pub.b.Publish(context.Background(), source, fmt.Sprintf("sev-%d-%d", time.Now().UnixNano(), pub.n.Add(1)), n)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func expiresIn(d time.Duration) *notification.Timestamp {
	return &notification.Timestamp{Time: time.Now().Add(d)}
}

// shownRow is one notification as the demo's list shows it (a top-level li).
type shownRow struct {
	ID, Type, Severity, Class string
	Label, TypeLabel          string // the severity chip's text, the type's label
	Title, Body, Aria         string
	Icon                      string // the chip's icon, hidden from screen readers
	IconHidden                bool
	Chip                      string // the chip's computed background colour
	Markup                    int    // elements inside the title and body (text only: 0)
	Links                     []struct{ Href, Rel, Target, Text string }
}

const shownRowsJS = `JSON.stringify([...document.querySelectorAll("#list > li")].map(li => {
	const q = (s) => li.querySelector(s);
	const chip = q(".n-meta .sev-label"), icon = chip && chip.querySelector(".sev-icon");
	return {
		id: li.dataset.id, type: li.dataset.type || "", severity: li.dataset.severity || "", class: li.className,
		label: chip ? [...chip.childNodes].filter(n => n !== icon).map(n => n.textContent).join("").trim() : "",
		typeLabel: q(".type-label")?.textContent || "",
		title: q(".n-title")?.textContent || "", body: q(".n-body")?.textContent || "",
		aria: q("button.item")?.getAttribute("aria-label") || "",
		icon: icon?.textContent || "", iconHidden: icon?.getAttribute("aria-hidden") === "true",
		chip: chip ? getComputedStyle(chip).backgroundColor : "",
		markup: li.querySelectorAll(".n-title *, .n-body *").length,
		links: [...li.querySelectorAll("a")].map(a => ({href: a.getAttribute("href"), rel: a.rel, target: a.target, text: a.textContent})),
	};
}))`

func shownRows(t *testing.T, p page) map[string]shownRow {
	t.Helper()
	var rows []shownRow
	if err := json.Unmarshal([]byte(p.evalString(shownRowsJS)), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]shownRow{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

// flowSeverityAndGenericTypes: announcements of each severity — from the student's own
// log, the class's group log and the broadcast log, some in the history and some live —
// show their severity as a labelled, coloured chip; types the page does not know render
// from title, body, link and severity with a type label, a missing title falls back to
// the type, an unknown severity to info; title and body are text even when they hold
// <script> and HTML; only https links become (plain, noopener noreferrer) links; an
// expired notification is not shown. axe-core finds no serious violation with all of
// it on screen.
func flowSeverityAndGenericTypes(t *testing.T, open func(url string) page) {
	t.Helper()
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	app := demoWithGroups(t, sys, false)
	pub := newPublisher(t, redisAddr, 0)
	const user = "sevi"
	type want struct {
		severity, typeLabel, title, body, link string
		source                                 string // the id's log prefix: "" own, "@class-7b:", "!all:"
	}
	wants := map[string]want{} // id → what the row must show
	send := func(source string, n notification.Notification, w want) {
		t.Helper()
		w.source = broker.ItemPrefix(source)
		wants[announce(t, pub, source, n)] = w
	}

	// In the history: the student's own info, the class's warning; an expired one.
	send(user, notification.Notification{Type: "announcement", Severity: "info", Title: "Welcome back",
		Text: "Term starts Monday.", Link: "https://school.example/term"},
		want{"info", "Announcement", "Welcome back", "Term starts Monday.", "https://school.example/term", ""})
	send(broker.GroupSource(classGroup), notification.Notification{Type: "announcement", Severity: "warning",
		Title: "Maintenance tonight", Text: "Videos pause 22:00–22:30."},
		want{"warning", "Announcement", "Maintenance tonight", "Videos pause 22:00–22:30.", "", ""})
	gone := announce(t, pub, user, notification.Notification{Type: "announcement", Severity: "error",
		Title: "Already over", ExpiresAt: expiresIn(-time.Minute)})

	p := open(app.url() + "/demo/?user=" + user)
	p.waitState(live, "history shown", func(s pageState) bool { return s.Status.State == "open" && len(s.List) == 2 })

	// Live: everyone's error, a success, types the page does not know, hostile text and links.
	send(broker.Everyone, notification.Notification{Type: "announcement", Severity: "error", Title: "Service disruption",
		Text: "Uploads are failing.", Link: "https://status.example/"},
		want{"error", "Announcement", "Service disruption", "Uploads are failing.", "https://status.example/", ""})
	send(user, notification.Notification{Type: "announcement", Severity: "success", Title: "Grades are in"},
		want{"success", "Announcement", "Grades are in", "", "", ""})
	send(user, notification.Notification{Type: "grade_posted", Severity: "success", Title: "Quiz 3 graded",
		Text: "You scored 9/10.", Link: "https://school.example/grades/3"},
		want{"success", "Grade posted", "Quiz 3 graded", "You scored 9/10.", "https://school.example/grades/3", ""})
	send(user, notification.Notification{Type: "quiz_reminder", Text: "Quiz 4 opens at 10:00."},
		want{"info", "", "Quiz reminder", "Quiz 4 opens at 10:00.", "", ""})
	hostileTitle := `<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">Fire drill`
	hostileBody := `<b>Bring</b> your <i>coat</i> & <a href="https://evil.example">click</a>`
	send(user, notification.Notification{Type: "announcement", Severity: "warning", Title: hostileTitle,
		Text: hostileBody, Link: "http://school.example/drill"},
		want{"warning", "Announcement", hostileTitle, hostileBody, "", ""})
	send(user, notification.Notification{Type: "announcement", Severity: "info", Title: "Library hours",
		Link: "javascript:window.pwned=3"},
		want{"info", "Announcement", "Library hours", "", "", ""})
	send(user, notification.Notification{Type: "system_update", Severity: "urgent", Title: "New player",
		Link: "/relative/path"},
		want{"info", "System update", "New player", "", "", ""})

	s := p.waitState(live, "every notification shown", func(s pageState) bool { return len(s.List) == len(wants) })
	time.Sleep(300 * time.Millisecond) // a stray or late one
	s = p.state()
	if len(s.List) != len(wants) {
		t.Errorf("%d rows, want %d", len(s.List), len(wants))
	}
	for _, it := range s.List {
		if it.ID == gone {
			t.Error("the expired notification is listed")
		}
	}
	if slices.Contains(s.Toasts, gone) {
		t.Error("the expired notification was toasted")
	}

	rows := shownRows(t, p)
	chips := map[string]string{} // severity → chip colour
	for id, w := range wants {
		r, ok := rows[id]
		if !ok {
			t.Errorf("%q (%s) not shown as a row of its own", w.title, id)
			continue
		}
		if !strings.HasPrefix(id, w.source) || (w.source == "" && strings.ContainsAny(id, "@!")) {
			t.Errorf("%q: id %q, want one of log %q", w.title, id, w.source)
		}
		label := map[string]string{"info": "Info", "success": "Success", "warning": "Warning", "error": "Error"}[w.severity]
		if r.Severity != w.severity || !strings.Contains(" "+r.Class+" ", " sev-"+w.severity+" ") || r.Label != label {
			t.Errorf("%q: severity %q, class %q, label %q; want %s with class sev-%s and label %q", w.title, r.Severity, r.Class, r.Label, w.severity, w.severity, label)
		}
		if r.Icon == "" || !r.IconHidden {
			t.Errorf("%q: icon %q (aria-hidden %v), want a decorative icon beside the label", w.title, r.Icon, r.IconHidden)
		}
		if r.Title != w.title || r.Body != w.body || r.TypeLabel != w.typeLabel {
			t.Errorf("%q: shows title %q, body %q, type label %q; want %q, %q, %q", w.title, r.Title, r.Body, r.TypeLabel, w.title, w.body, w.typeLabel)
		}
		if r.Markup != 0 {
			t.Errorf("%q: title and body hold %d elements, want text only", w.title, r.Markup)
		}
		// The screen reader hears the severity too, not only sees a colour.
		if !strings.Contains(r.Aria, label+", ") || !strings.Contains(r.Aria, w.title) {
			t.Errorf("%q: accessible name %q lacks the severity or the title", w.title, r.Aria)
		}
		switch {
		case w.link == "" && len(r.Links) > 0:
			t.Errorf("%q: links %+v, want none", w.title, r.Links)
		case w.link != "" && (len(r.Links) != 1 || r.Links[0].Href != w.link || r.Links[0].Rel != "noopener noreferrer" || r.Links[0].Target != ""):
			t.Errorf("%q: links %+v, want one to %s, rel \"noopener noreferrer\", no target", w.title, r.Links, w.link)
		}
		if r.Chip == "" || r.Chip == "rgba(0, 0, 0, 0)" || r.Chip == "transparent" {
			t.Errorf("%q: the severity chip has no colour (%q)", w.title, r.Chip)
		} else if c, seen := chips[w.severity]; seen && c != r.Chip {
			t.Errorf("%s: chips coloured %s and %s", w.severity, c, r.Chip)
		}
		chips[w.severity] = r.Chip
	}
	if distinct := len(slices.Compact(slices.Sorted(maps.Values(chips)))); distinct != 4 {
		t.Errorf("severity colours %v: want 4 distinct", chips)
	}

	// The toasts: the broadcast error is a failure toast with its label; nothing anywhere
	// became markup or a non-https link, and no injected script ran.
	var dom struct {
		ErrorToast       string
		ErrorToastClass  string
		Markup           int
		Hrefs            []string
		Pwned            string
		EmptyHidden      bool
		ToastsOnScreen   int
		QuizToastHasText bool
	}
	if err := json.Unmarshal([]byte(p.evalString(`JSON.stringify((() => {
		const err = [...document.querySelectorAll("#toasts .toast")].find(t => t.textContent.includes("Service disruption"));
		return {
			errorToast: err?.textContent || "", errorToastClass: err?.className || "",
			markup: document.querySelectorAll("#list script, #list img, #list b, #list i, #toasts script, #toasts img, #toasts b, #toasts i").length,
			hrefs: [...document.querySelectorAll("#list a, #toasts a")].map(a => a.getAttribute("href")),
			pwned: String(window.pwned), emptyHidden: document.getElementById("empty").hidden,
			toastsOnScreen: document.querySelectorAll("#toasts .toast").length,
			quizToastHasText: [...document.querySelectorAll("#toasts .toast")].some(t => t.textContent.includes("Quiz reminder — Quiz 4 opens at 10:00.")),
		};
	})())`)), &dom); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom.ErrorToast, "Error") || !strings.Contains(dom.ErrorToastClass, "failed") || !strings.Contains(dom.ErrorToastClass, "sev-error") {
		t.Errorf("broadcast error toast %q (class %q), want a failure toast labelled Error", dom.ErrorToast, dom.ErrorToastClass)
	}
	if !dom.QuizToastHasText {
		t.Error("the untitled quiz_reminder's toast does not read \"Quiz reminder — Quiz 4 opens at 10:00.\"")
	}
	if dom.Markup != 0 || dom.Pwned != "undefined" {
		t.Errorf("%d elements from notification text in the list and toasts, window.pwned=%s: want text only", dom.Markup, dom.Pwned)
	}
	for _, h := range dom.Hrefs {
		if !strings.HasPrefix(h, "https://") {
			t.Errorf("link to %q rendered: only https links may be", h)
		}
	}
	if !dom.EmptyHidden {
		t.Error(`"No notifications yet." shown beside the list`)
	}

	// axe-core with the list open and every severity on screen (list and toasts).
	p.run(`document.getElementById("bell").click()`)
	runAxe(t, p)
}

// awaiter evaluates js and waits for the promise it gives (Chromium's evalString
// does not wait).
type awaiter interface{ evalAwait(js string) string }

func (tb *tab) evalAwait(js string) string   { return evalAsync[string](tb, js) }
func (ft *ffTab) evalAwait(js string) string { return ffEval[string](ft, js) }

// runAxe injects axe-core into the page and fails on any serious or critical violation.
func runAxe(t *testing.T, p page) {
	t.Helper()
	src, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatalf("axe-core %s not found (%v): run scripts/ensure-deps.sh, or set AXE_CORE_JS", axeVersion, err)
	}
	p.run("(() => {\n" + string(src) + "\n;return true;})()")
	var vs []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	out := p.(awaiter).evalAwait(`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({target: n.target.map(String)}))}))))`)
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatal(err)
	}
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

// flowExpiry, with the client's clock an hour fast: a notification that expires while
// the page is open leaves the list and its toast at its expires_at (by the server's
// clock: not at once, though the client clock says it is long past), one that expires
// in 30 minutes stays, and one already expired when published is never shown. The
// broadcast and group logs expire the same way.
func flowExpiry(t *testing.T, open func(url, script string) page) {
	t.Helper()
	redisAddr := newRedis(t)
	sys := startLocal(t, redisAddr)
	app := demoWithGroups(t, sys, true)
	pub := newPublisher(t, redisAddr, 0)
	const user = "expy"
	fastClock := `(() => { const now = Date.now; Date.now = () => now() + 3600e3; })();`
	p := open(app.url()+"/demo/?user="+user, fastClock)
	p.waitState(live, "open", func(s pageState) bool { return s.Status.State == "open" })
	offset := p.evalString(`String(window.vividlyDemo.clockOffset)`)
	t.Logf("the page's clock offset: %s ms", offset)

	const short = 6 * time.Second
	published := time.Now()
	soon := announce(t, pub, broker.Everyone, notification.Notification{Type: "announcement", Severity: "warning",
		Title: "Fire drill now", ExpiresAt: expiresIn(short)})
	later := announce(t, pub, broker.GroupSource(classGroup), notification.Notification{Type: "announcement", Severity: "info",
		Title: "Library closed today", ExpiresAt: expiresIn(30 * time.Minute)})
	gone := announce(t, pub, user, notification.Notification{Type: "announcement", Severity: "error",
		Title: "Already over", ExpiresAt: expiresIn(-time.Second)})
	stays := announce(t, pub, user, notification.Notification{Type: "grade_posted", Severity: "success", Title: "Quiz graded"})

	has := func(s pageState, id string) bool {
		return slices.ContainsFunc(s.List, func(it struct{ ID, Title string }) bool { return it.ID == id })
	}
	p.waitState(live, "the three unexpired notifications", func(s pageState) bool {
		return has(s, soon) && has(s, later) && has(s, stays)
	})
	if shownAt := time.Since(published); shownAt >= short {
		t.Fatalf("shown %v after publishing: too late to tell whether it was hidden early", shownAt)
	}
	toast := func(id string) bool {
		return p.evalString(`String([...document.querySelectorAll("#toasts .toast")].some(t => t.dataset.ids.split(" ").includes(`+jsonMarshal(id)+`)))`) == "true"
	}
	if !toast(soon) {
		t.Error("no toast for the notification about to expire")
	}
	s := p.waitState(short+live, "the expired one to leave the list", func(s pageState) bool { return !has(s, soon) })
	left := time.Since(published)
	t.Logf("expires %v after publishing; left the list after %v", short, left.Round(10*time.Millisecond))
	if left < short-1500*time.Millisecond { // the Date header's whole seconds, and a round trip
		t.Errorf("hidden after %v, before its expires_at (%v)", left, short)
	}
	if !has(s, later) || !has(s, stays) {
		t.Errorf("list %v: the notification due in 30 minutes and the one without expiry must stay", s.titles())
	}
	if toast(soon) {
		t.Error("the expired notification's toast is still on screen")
	}
	if has(s, gone) || slices.Contains(s.Toasts, gone) {
		t.Error("the notification published already expired was shown")
	}
}
