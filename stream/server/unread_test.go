package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestUnreadReachesEveryStreamAndHistory: POST …/unread on either of two instances over
// one Redis undoes a mark of all for that id only: both streams of the user get `event:
// inbox` {"op":"unread",…} listing the held ids, another user's stream nothing, and
// history shows it read:false with the unread count; a later read reads it again.
func TestUnreadReachesEveryStreamAndHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	first := e.url
	a := e.open("una", "", "")
	e.start(nil) // a second instance over the same Redis
	second := e.url
	b := e.open("una", "", "")
	other := e.open("unb", "", "")
	ids := []string{e.publish("una"), e.publish("una"), e.publish("una")}
	for _, c := range []*client{a, b} {
		c.events(3)
	}
	e.post("una", "read", `{"all":true}`)
	e.url = first
	e.post("una", "unread", `{"ids":["`+ids[1]+`","1-0"]}`) // 1-0: not held, left out
	want := `{"op":"unread","ids":["` + ids[1] + `"]}`
	for _, c := range []*client{a, b} {
		if f := c.inboxEventOf(); f.data != want {
			t.Fatalf("inbox event data %q, want %q", f.data, want)
		}
	}
	p := e.inboxHistory("una", "")
	if got := readOf(p); !slices.Equal(got, []bool{true, false, true}) || *p.Unread != 1 {
		t.Fatalf("history after unread: read %v, unread %d; want [true false true], 1", got, *p.Unread)
	}
	if f := e.inboxHistory("una", "?unread=true"); len(f.Notifications) != 1 || f.Notifications[0].ID != ids[1] {
		t.Errorf("unread=true lists %v, want only %s", f.ids(), ids[1])
	}
	e.url = second
	e.post("una", "read", `{"ids":["`+ids[1]+`"]}`)
	if p := e.inboxHistory("una", ""); !slices.Equal(readOf(p), []bool{true, true, true}) || *p.Unread != 0 {
		t.Errorf("after reading it again: read %v, unread %d", readOf(p), *p.Unread)
	}
	other.quiet(300 * time.Millisecond)
}

func readOf(p inboxPage) []bool {
	var out []bool
	for _, n := range p.Notifications {
		out = append(out, *n.Read)
	}
	return out
}

// TestUnreadValidation: malformed bodies are 400 with a JSON error and change nothing,
// an oversized one 413, no token 401; an id not held is 204.
func TestUnreadValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id := e.publish("unc")
	e.post("unc", "read", `{"all":true}`)
	for name, body := range map[string]string{
		"empty object": `{}`, "all": `{"all":true}`, "no ids": `{"ids":[]}`, "malformed id": `{"ids":["x"]}`,
		"too many ids":  `{"ids":["` + strings.Repeat(id+`","`, 200) + id + `"]}`,
		"unknown field": `{"ids":["` + id + `"],"x":1}`, "not json": `ids`,
	} {
		status, got, _ := e.request(http.MethodPost, "/api/v1/notifications/unread", "unc", body)
		if status != http.StatusBadRequest || !json.Valid([]byte(got)) || !strings.HasPrefix(got, `{"error":`) {
			t.Errorf("%s: %d %q, want 400 with a JSON error", name, status, got)
		}
	}
	big := `{"ids":["` + strings.Repeat("1", 70<<10) + `"]}`
	if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/unread", "unc", big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: %d, want 413", status)
	}
	if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/unread", "", `{"ids":["`+id+`"]}`); status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", status)
	}
	if p := e.inboxHistory("unc", ""); *p.Unread != 0 {
		t.Fatalf("refused requests changed the unread count to %d", *p.Unread)
	}
	e.post("unc", "unread", `{"ids":["1-0"]}`) // not held: ignored
	e.post("unc", "unread", `{"ids":["`+id+`","`+id+`"]}`)
	if p := e.inboxHistory("unc", ""); *p.Unread != 1 {
		t.Errorf("after unread: unread %d, want 1", *p.Unread)
	}
}

// TestUnreadIsRateLimitedPerUser: the route spends the user's API budget like the
// other inbox routes.
func TestUnreadIsRateLimitedPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimitPerUser, c.RateLimitUserBurst = 0.001, 2 })
	body := `{"ids":["1-0"]}`
	for range 2 {
		if status, got, _ := e.request(http.MethodPost, "/api/v1/notifications/unread", "und", body); status != http.StatusNoContent {
			t.Fatalf("within the budget: %d %s", status, got)
		}
	}
	if status, _, h := e.request(http.MethodPost, "/api/v1/notifications/unread", "und", body); status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("over the budget: %d (Retry-After %q), want 429", status, h.Get("Retry-After"))
	}
	if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/unread", "une", body); status != http.StatusNoContent {
		t.Errorf("another user: %d, want 204", status)
	}
}

// TestUnreadOfAGroupNotification: a group notification read by all is unread for the
// student who asks, through the logs their token names, and for no other member.
func TestUnreadOfAGroupNotification(t *testing.T) {
	t.Parallel()
	e := newPrivacyEnv(t)
	id := e.publishTo("class8")
	me, other := roomToken(t, "stu8", time.Hour, false, "class8"), roomToken(t, "stu9", time.Hour, false, "class8")
	history := func(tok string) inboxPage {
		t.Helper()
		st, body := e.as(tok, http.MethodGet, "/api/v1/notifications", "")
		var p inboxPage
		if err := json.Unmarshal([]byte(body), &p); st != http.StatusOK || err != nil || p.Unread == nil || len(p.Notifications) != 1 {
			t.Fatalf("history: %d %s (%v)", st, body, err)
		}
		return p
	}
	for _, tok := range []string{me, other} {
		if st, body := e.as(tok, http.MethodPost, "/api/v1/notifications/read", `{"all":true}`); st != http.StatusNoContent {
			t.Fatalf("read all: %d %s", st, body)
		}
	}
	if st, body := e.as(me, http.MethodPost, "/api/v1/notifications/unread", `{"ids":["`+id+`"]}`); st != http.StatusNoContent {
		t.Fatalf("unread: %d %s", st, body)
	}
	if p := history(me); *p.Unread != 1 || p.Notifications[0].ID != id || *p.Notifications[0].Read {
		t.Errorf("my history: unread %d, item %+v; want 1 and %s unread", *p.Unread, p.Notifications[0], id)
	}
	if p := history(other); *p.Unread != 0 || !*p.Notifications[0].Read {
		t.Errorf("another member's history: unread %d, read %v; want 0, read", *p.Unread, *p.Notifications[0].Read)
	}
}
