package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// inboxPage is a history page with the inbox's state.
type inboxPage struct {
	Notifications []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Read     *bool  `json:"read"`
		Seen     *bool  `json:"seen"`
		Archived *bool  `json:"archived"`
	} `json:"notifications"`
	Next   string `json:"next"`
	Unread *int   `json:"unread"`
	Unseen *int   `json:"unseen"`
}

func (e *env) inboxHistory(user, query string) inboxPage {
	e.t.Helper()
	status, body, _ := e.request(http.MethodGet, "/api/v1/notifications"+query, user, "")
	var p inboxPage
	if err := json.Unmarshal([]byte(body), &p); status != http.StatusOK || err != nil || p.Unread == nil || p.Unseen == nil {
		e.t.Fatalf("history%s: %d %s (%v)", query, status, body, err)
	}
	for _, n := range p.Notifications {
		if n.Read == nil || n.Seen == nil || n.Archived == nil {
			e.t.Fatalf("history item without read, seen or archived: %s", body)
		}
	}
	return p
}

func (p inboxPage) ids() []string {
	out := []string{}
	for _, n := range p.Notifications {
		out = append(out, n.ID)
	}
	return out
}

func (e *env) post(user, path, body string) {
	e.t.Helper()
	if status, got, _ := e.request(http.MethodPost, "/api/v1/notifications/"+path, user, body); status != http.StatusNoContent {
		e.t.Fatalf("POST %s %s: %d %s", path, body, status, got)
	}
}

// TestHistoryInboxStateAndFilters: items carry seen and archived, the page unseen;
// archived items are left out unless archived=true (then only they are listed);
// unread=true and type= filter; a filtered page read with after is filled from later
// pages and its next resumes just after its last item; bad filters are 400.
func TestHistoryInboxStateAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var done, failed []string
	for range 4 {
		done = append(done, e.publish("hfa"))
		failed = append(failed, e.publishFailed("hfa"))
	}
	all := e.inboxHistory("hfa", "")
	if len(all.Notifications) != 8 || *all.Unseen != 8 || *all.Unread != 8 {
		t.Fatalf("history: %d items, unseen %d, unread %d; want 8, 8, 8", len(all.Notifications), *all.Unseen, *all.Unread)
	}
	e.post("hfa", "seen", `{"ids":["`+done[0]+`"]}`)
	e.post("hfa", "read", `{"ids":["`+done[1]+`"]}`)
	e.post("hfa", "archive", `{"ids":["`+failed[0]+`"]}`)
	p := e.inboxHistory("hfa", "")
	if got := p.ids(); len(got) != 7 || slices.Contains(got, failed[0]) || *p.Unseen != 7 {
		t.Fatalf("after archiving %s: %v, unseen %d; want it left out, unseen 7", failed[0], got, *p.Unseen)
	}
	if n := p.Notifications[0]; n.ID != done[0] || !*n.Seen || *n.Archived {
		t.Errorf("first item %+v, want %s seen", n, done[0])
	}
	if got := e.inboxHistory("hfa", "?archived=true").ids(); !slices.Equal(got, []string{failed[0]}) {
		t.Errorf("archived=true: %v, want only %s", got, failed[0])
	}
	if got := e.inboxHistory("hfa", "?unread=true").ids(); len(got) != 6 || slices.Contains(got, done[1]) {
		t.Errorf("unread=true: %v, want the 6 unread, unarchived ones", got)
	}
	if got := e.inboxHistory("hfa", "?type=video_failed").ids(); !slices.Equal(got, failed[1:]) {
		t.Errorf("type=video_failed: %v, want %v", got, failed[1:])
	}
	// Paging a filter with after: pages of 2 failures, each filled past the completes.
	var paged []string
	after := done[0] // before failed[0]
	for range 5 {
		p := e.inboxHistory("hfa", "?type=video_failed&limit=2&after="+after)
		paged = append(paged, p.ids()...)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if !slices.Equal(paged, failed[1:]) {
		t.Errorf("paged type=video_failed: %v, want %v", paged, failed[1:])
	}
	// A page filled from two reads holds more than limit: it is cut, and its next
	// resumes right after its last item, so nothing is skipped.
	first := e.inboxHistory("hfa", "?unread=true&limit=3&after="+done[0])
	want := []string{failed[1], done[2], failed[2]}
	if !slices.Equal(first.ids(), want) {
		t.Fatalf("unread=true&limit=3: %v, want %v", first.ids(), want)
	}
	if rest := e.inboxHistory("hfa", "?unread=true&limit=3&after="+first.Next).ids(); !slices.Equal(rest, []string{done[3], failed[3]}) {
		t.Errorf("next page: %v, want %v", rest, []string{done[3], failed[3]})
	}
	for _, q := range []string{"?unread=yes", "?archived=1", "?type=Video", "?type=a,,b", "?type=" + strings.Repeat("a,", 20) + "a"} {
		if status, _, _ := e.request(http.MethodGet, "/api/v1/notifications"+q, "hfa", ""); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}
}
