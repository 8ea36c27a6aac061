package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// Issue 29, the teacher's view of read receipts (demo/receipts.html) in Chromium and
// Firefox ESR, on bin/local with Redis: three students of a class open the demo centre
// (LOCAL_DEMO_GROUPS puts them in the class; their streams record them as members), an announcement to the class arrives, two of
// them read it, and the teacher's page shows "2 of 3 read" and those two names — one
// page of readers at a time, the rest behind "Load more" — with no axe violation.

func TestReceiptsTeacherView(t *testing.T) {
	browser := newBrowser(t)
	teacher := flowReceipts(t, func(url string) page { return openTab(t, browser, url) })
	// A picture of the page for a reviewer (not tracked; artifacts/ is ignored).
	png, err := chromedp.Run(teacher.(*tab).ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "artifacts", "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "receipts.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFirefoxReceiptsTeacherView(t *testing.T) {
	device := newFirefox(t)
	flowReceipts(t, func(url string) page { return openFirefoxTab(t, device, url) })
}

// receiptsShown is what the teacher's page shows (window.vividlyReceipts and the DOM).
type receiptsShown struct {
	Status, Selected string
	Announcements    []struct{ ID, Title string }
	Report           *struct {
		Audience, Seen, Read int
		Next                 string
	}
	Summary   string
	Rows      []struct{ User, Seen, Read string }
	More      bool
	Notice    string
	Refreshes int
}

const receiptsShownJS = `JSON.stringify((() => {
	const r = window.vividlyReceipts || {};
	return {
		status: r.status || "", selected: r.selected || "", announcements: r.announcements || [],
		report: r.report || null, refreshes: r.refreshes || 0,
		summary: document.getElementById("summary").textContent,
		rows: [...document.querySelectorAll("#readers tr")].map(tr => ({user: tr.dataset.user,
			seen: tr.cells[1].textContent, read: tr.cells[2].textContent})),
		more: !document.getElementById("more").hidden,
		notice: document.getElementById("notice").hidden ? "" : document.getElementById("notice").textContent,
	};
})())`

func receiptsState(t *testing.T, p page) receiptsShown {
	t.Helper()
	var s receiptsShown
	if err := json.Unmarshal([]byte(p.evalString(receiptsShownJS)), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitReceipts(t *testing.T, p page, what string, cond func(receiptsShown) bool) receiptsShown {
	t.Helper()
	var s receiptsShown
	waitFor(t, live, what, func() bool { s = receiptsState(t, p); return cond(s) })
	return s
}

// publishToGroup sends an announcement to group through the local system's Publish
// entry point (as the notifications topic's push subscription would).
func publishToGroup(t *testing.T, sys *local, msgID, group, title string) {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"type": "announcement", "audience": map[string]any{"groups": []string{group}}, "title": title})
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+sys.fnPort+"/publish", bytes.NewReader(eventarc.PushBody(data, "", time.Time{})))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", msgID)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", eventarc.EventType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/local/topics/notifications")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("publish %q: HTTP %d", title, res.StatusCode)
	}
}

// flowReceipts runs the flow and returns the teacher's page.
func flowReceipts(t *testing.T, open func(url string) page) page {
	t.Helper()
	// The demo centre asks the token helper for no groups: LOCAL_DEMO_GROUPS puts its
	// students in the class, as a person trying the demo would.
	sys := startLocal(t, newRedis(t), "LOCAL_DEMO_GROUPS="+classGroup)
	students := []string{"rc-ana", "rc-ben", "rc-cai"}
	tabs := map[string]page{}
	for _, s := range students {
		tabs[s] = open(sys.url() + "/demo/?user=" + s)
		tabs[s].waitState(live, s+" open", func(ps pageState) bool { return ps.Status.State == "open" })
	}
	const title = "Bring your permission slip"
	publishToGroup(t, sys, fmt.Sprintf("rc-%d", time.Now().UnixNano()), classGroup, title)
	var id string
	for _, s := range students {
		ps := tabs[s].waitState(live, s+" got the announcement", func(ps pageState) bool {
			return slices.ContainsFunc(ps.List, func(it struct{ ID, Title string }) bool { return it.Title == title })
		})
		i := slices.IndexFunc(ps.List, func(it struct{ ID, Title string }) bool { return it.Title == title })
		if id != "" && ps.List[i].ID != id {
			t.Fatalf("%s got id %s, another student %s", s, ps.List[i].ID, id)
		}
		id = ps.List[i].ID
	}
	if !strings.HasPrefix(id, "@"+classGroup+":") {
		t.Fatalf("announcement id %q is not the class log's", id)
	}

	// The teacher's page, served by bin/local (its helper mints the teacher's token),
	// one reader per page so "Load more" has work; it refreshes every 300 ms.
	q := url.Values{"user": {"rc-teacher"}, "class": {classGroup}, "page": {"1"}, "refresh_ms": {"300"}}
	teacher := open(sys.url() + "/demo/receipts.html?" + q.Encode())
	s := waitReceipts(t, teacher, "the announcement selected, nobody read", func(s receiptsShown) bool {
		return s.Selected == id && s.Report != nil && s.Report.Audience == 3
	})
	if s.Report.Read != 0 || len(s.Rows) != 0 || s.Summary != "0 of 3 read · 0 of 3 seen" {
		t.Errorf("before any read: report %+v, rows %+v, summary %q", *s.Report, s.Rows, s.Summary)
	}
	if len(s.Announcements) != 1 || s.Announcements[0].Title != title {
		t.Errorf("announcements shown %+v, want the one to the class", s.Announcements)
	}

	// Two students read it, each by clicking it in their own notification centre.
	for _, st := range students[:2] {
		tabs[st].run(fmt.Sprintf(`document.querySelector('#list li[data-id=%q] button.item').click()`, id))
	}
	s = waitReceipts(t, teacher, "2 of 3 read", func(s receiptsShown) bool { return s.Report != nil && s.Report.Read == 2 })
	if !strings.HasPrefix(s.Summary, "2 of 3 read") {
		t.Errorf("summary %q, want 2 of 3 read", s.Summary)
	}
	if len(s.Rows) != 1 || s.Rows[0].User != students[0] || s.Rows[0].Read == "not yet" || !s.More {
		t.Errorf("first page: rows %+v, load more shown %v; want %s read, and more", s.Rows, s.More, students[0])
	}
	teacher.run(`document.getElementById("more").click()`)
	s = waitReceipts(t, teacher, "both readers after Load more", func(s receiptsShown) bool { return len(s.Rows) == 2 })
	for i, r := range s.Rows {
		if r.User != students[i] || r.Read == "not yet" || r.Read == "" {
			t.Errorf("reader %d: %+v, want %s with a read time", i, r, students[i])
		}
	}
	if s.More {
		t.Error("Load more still shown after the last page")
	}
	// Two refreshes later (each reloads as many readers as were loaded) both names stay.
	s = waitReceipts(t, teacher, "two more refreshes", func(r receiptsShown) bool { return r.Refreshes >= s.Refreshes+2 })
	if len(s.Rows) != 2 || s.Report.Read != 2 || s.Status != "live" {
		t.Errorf("after refreshing: rows %+v, report %+v, status %q", s.Rows, *s.Report, s.Status)
	}

	// Same figures as the API gives the teacher.
	var api struct{ Audience, Seen, Read int }
	tok := teacherToken(t, sys, "rc-teacher", classGroup)
	req, _ := http.NewRequest(http.MethodGet, sys.url()+"/api/v1/receipts?notification="+url.QueryEscape(id), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&api)
	res.Body.Close()
	if api.Audience != s.Report.Audience || api.Read != s.Report.Read || api.Seen != s.Report.Seen {
		t.Errorf("page %+v, API %+v", *s.Report, api)
	}

	src, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatalf("axe-core %s not found (%v): run scripts/ensure-deps.sh, or set AXE_CORE_JS", axeVersion, err)
	}
	checkAxe(t, "teacher's receipts page", teacher, src)
	return teacher
}

// teacherToken asks bin/local's helper for a teacher's token of group.
func teacherToken(t *testing.T, sys *local, user, group string) string {
	t.Helper()
	var body struct{ Token string }
	getJSON(t, sys.url()+"/demo/dev-token?"+url.Values{"user": {user}, "groups": {group}, "roles": {"teacher"}}.Encode(), &body)
	return body.Token
}

// With the in-memory broker (bin/local without REDIS_ADDR) the server keeps no
// receipts (501): the page says so, and that Redis is what it needs.
func TestReceiptsPageWithoutRedis(t *testing.T) {
	sys := startLocal(t, "", "REDIS_ADDR=")
	teacher := openTab(t, newBrowser(t), sys.url()+"/demo/receipts.html?user=rc-teacher&class="+classGroup)
	s := waitReceipts(t, teacher, "the notice", func(s receiptsShown) bool { return s.Status == "off" })
	if !strings.Contains(s.Notice, "REDIS_ADDR") || !strings.Contains(s.Notice, "in-memory broker") {
		t.Errorf("notice %q does not say receipts need Redis", s.Notice)
	}
}
