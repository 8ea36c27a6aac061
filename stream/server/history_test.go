package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

type historyPage struct {
	Notifications []struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		RequestID string `json:"request_id"`
	} `json:"notifications"`
	Next string `json:"next"`
}

func (e *env) history(tok, query string) (historyPage, int) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/notifications"+query, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p historyPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		e.t.Fatalf("history body: %v", err)
	}
	return p, resp.StatusCode
}

func pageIDs(p historyPage) []string {
	var out []string
	for _, n := range p.Notifications {
		out = append(out, n.ID)
	}
	return out
}

func TestHistory(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t, "nia", time.Hour)
	if p, status := e.history(tok, ""); status != 200 || len(p.Notifications) != 0 || p.Next != "" {
		t.Fatalf("empty history: %+v, %d", p, status)
	}
	var ids []string
	for range 5 {
		ids = append(ids, e.publish("nia"))
	}
	p, _ := e.history(tok, "?limit=3")
	if strings.Join(pageIDs(p), ",") != strings.Join(ids[2:], ",") || p.Next != ids[4] {
		t.Fatalf("newest 3 = %v next %s; want %v", pageIDs(p), p.Next, ids[2:])
	}
	var walked []string
	for after := "0-0"; ; {
		p, status := e.history(tok, "?limit=2&after="+after)
		if status != 200 {
			t.Fatal(status)
		}
		if len(p.Notifications) == 0 {
			if p.Next != "" {
				t.Fatalf("empty page with next %q", p.Next)
			}
			break
		}
		walked = append(walked, pageIDs(p)...)
		after = p.Next
	}
	if strings.Join(walked, ",") != strings.Join(ids, ",") {
		t.Fatalf("paged %v, want %v", walked, ids)
	}
	if p, _ := e.history(tok, ""); len(p.Notifications) != 5 || p.Notifications[0].Type != "video_complete" || p.Notifications[0].RequestID == "" {
		t.Fatalf("default page: %+v", p)
	}
	// Paging from an id the log no longer holds still shows what is held.
	for range 20 { // MaxLen 20: the first five are trimmed
		e.publish("nia")
	}
	if p, _ := e.history(tok, "?limit=200&after="+ids[0]); len(p.Notifications) != 20 {
		t.Fatalf("after a trimmed id: %d items, want the 20 held", len(p.Notifications))
	}
}

func TestHistoryBadParameters(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t, "oli", time.Hour)
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=abc", "?limit=", "?limit=-1", "?limit=1.5",
		"?after=yesterday", "?after=", "?after=01-0", "?after=1-0%0D%0Ax"} {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/notifications"+q, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body["error"] == "" {
			t.Errorf("%s: %d %v, want 400 with an error", q, resp.StatusCode, body)
		}
	}
	if _, status := e.history("", ""); status != http.StatusUnauthorized {
		t.Errorf("no token: %d", status)
	}
}

func TestSecurity_HistoryIsTheCallersOwn(t *testing.T) {
	e := newEnv(t, nil)
	bob := []string{e.publish("bob"), e.publish("bob")}
	mine := e.publish("pam")
	tok := token(t, "pam", time.Hour)
	for _, q := range []string{"", "?after=" + bob[0], "?after=0-0&user=bob&user_id=bob", "?limit=200"} {
		p, status := e.history(tok, q)
		if status != 200 {
			t.Fatalf("%s: %d", q, status)
		}
		for _, n := range p.Notifications {
			if n.ID != mine {
				t.Fatalf("%s: pam's history holds %s (bob's are %v)", q, n.ID, bob)
			}
		}
	}
}
