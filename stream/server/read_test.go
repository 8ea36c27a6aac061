package server

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// request sends an API request with user's token (none when user is "") and returns
// the status, the body and the headers.
func (e *env) request(method, path, user, body string) (int, string, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(e.t, user, time.Hour))
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// markRead posts body to the read endpoint as user and wants 204.
func (e *env) markRead(user, body string) {
	e.t.Helper()
	if status, got, _ := e.request(http.MethodPost, "/api/v1/notifications/read", user, body); status != http.StatusNoContent || got != "" {
		e.t.Fatalf("mark read %s: %d %q, want 204", body, status, got)
	}
}

// readPage is a history page with read state.
type readPage struct {
	Notifications []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Read *bool  `json:"read"`
	} `json:"notifications"`
	Next   string `json:"next"`
	Unread *int   `json:"unread"`
}

// readHistory fetches user's history and checks every item carries "read" and the page
// carries "unread".
func (e *env) readHistory(user, query string) (ids []string, read []bool, unread int) {
	e.t.Helper()
	status, body, _ := e.request(http.MethodGet, "/api/v1/notifications"+query, user, "")
	var p readPage
	if err := json.Unmarshal([]byte(body), &p); status != http.StatusOK || err != nil || p.Unread == nil {
		e.t.Fatalf("history: %d %s (%v)", status, body, err)
	}
	for _, n := range p.Notifications {
		if n.Read == nil {
			e.t.Fatalf("history item without read: %s", body)
		}
		ids, read = append(ids, n.ID), append(read, *n.Read)
	}
	return ids, read, *p.Unread
}

func (e *env) wantHistoryRead(user string, want []bool, unread int) {
	e.t.Helper()
	_, got, n := e.readHistory(user, "")
	if !slices.Equal(got, want) || n != unread {
		e.t.Fatalf("history read %v, unread %d; want %v, unread %d", got, n, want, unread)
	}
}

// readEvent waits for the next `event: read` frame (skipping comments and
// notifications) and checks it has no id: line.
func (c *client) readEvent() frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.event == readEvent {
			if f.id != "" {
				c.t.Fatalf("read event with an id: line: %+v", f)
			}
			return f
		}
	}
}

// TestMarkReadShowsInHistory: marks by id and of all show in history's read flags and
// unread count, over the whole log (not only the page); marking is idempotent; what
// arrives after a mark of all is unread.
func TestMarkReadShowsInHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var ids []string
	for range 3 {
		ids = append(ids, e.publish("rea"))
	}
	e.wantHistoryRead("rea", []bool{false, false, false}, 3)
	for range 2 {
		e.markRead("rea", `{"ids":["`+ids[0]+`","`+ids[2]+`"]}`)
		e.wantHistoryRead("rea", []bool{true, false, true}, 1)
	}
	if got, read, unread := e.readHistory("rea", "?after="+ids[0]+"&limit=1"); !slices.Equal(got, ids[1:2]) || read[0] || unread != 1 {
		t.Fatalf("page after the first: %v %v unread %d", got, read, unread)
	}
	e.markRead("rea", `{"all":true}`)
	e.wantHistoryRead("rea", []bool{true, true, true}, 0)
	e.publish("rea")
	e.wantHistoryRead("rea", []bool{true, true, true, false}, 1)
	if _, _, unread := e.readHistory("nobody", ""); unread != 0 {
		t.Fatalf("empty history unread %d", unread)
	}
	// An id the log does not hold (never issued, or trimmed since) is ignored, not an error.
	e.markRead("rea", `{"ids":["1-0"]}`)
	e.wantHistoryRead("rea", []bool{true, true, true, false}, 1)
}

// TestReadEventReachesEveryStreamOfTheUser: a mark made on one instance reaches every
// open stream of the user on two instances over one Redis, within a second, as `event:
// read` without an id: line, with the agreed data; another user's streams get nothing;
// the streams' positions do not move (the next notification follows as usual).
func TestReadEventReachesEveryStreamOfTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	first := e.url
	a := e.open("reb", "", "")
	e.start(nil) // a second instance over the same Redis
	second := e.url
	b := e.open("reb", "", "")
	other := e.open("rec", "", "")
	n1 := e.publish("reb")
	for _, c := range []*client{a, b} {
		if f := c.events(1)[0]; f.id != n1 {
			t.Fatalf("got %+v, want %s", f, n1)
		}
	}
	for i, body := range []string{`{"ids":["` + n1 + `"]}`, `{"all":true}`} {
		e.url = []string{first, second}[i] // marked through each instance in turn
		start := time.Now()
		e.markRead("reb", body)
		for _, c := range []*client{a, b} {
			if f := c.readEvent(); f.data != body {
				t.Fatalf("read event data %q, want %q", f.data, body)
			}
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("read events took %s", took)
		}
	}
	other.quiet(300 * time.Millisecond)
	n2 := e.publish("reb")
	for _, c := range []*client{a, b} {
		if f := c.events(1)[0]; f.id != n2 {
			t.Fatalf("after the read events got %+v, want %s", f, n2)
		}
	}
	// A resume from the last notification's id replays nothing: the read events were
	// no position.
	r := e.open("reb", n2, "")
	r.quiet(300 * time.Millisecond)
}

// TestReadIsPerUser: a user marking another user's ids (or all of their own) changes
// nothing of the other's, and the other's streams hear nothing.
func TestReadIsPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	victim := e.open("red", "", "")
	id := e.publish("red")
	victim.events(1)
	e.markRead("ree", `{"ids":["`+id+`"]}`)
	e.markRead("ree", `{"all":true}`)
	e.wantHistoryRead("red", []bool{false}, 1)
	victim.quiet(300 * time.Millisecond)
}

// TestReadStateSurvivesRestart: read state is in Redis: a new process over the same
// Redis shows it.
func TestReadStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ids := []string{e.publish("ref"), e.publish("ref")}
	e.markRead("ref", `{"ids":["`+ids[1]+`"]}`)
	e.shutdown()
	e.start(nil)
	e.wantHistoryRead("ref", []bool{false, true}, 1)
}

// TestMarkReadValidation: bad bodies are 400 with a JSON error, an oversized one 413,
// no credential 401; none changes anything.
func TestMarkReadValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id := e.publish("reg")
	many := `{"ids":["` + strings.Repeat(id+`","`, 200) + id + `"]}`
	for name, body := range map[string]string{
		"empty":            "",
		"not JSON":         "ids=1",
		"neither":          `{}`,
		"null ids":         `{"ids":null}`,
		"no ids":           `{"ids":[]}`,
		"all false":        `{"all":false}`,
		"both":             `{"ids":["` + id + `"],"all":true}`,
		"malformed id":     `{"ids":["` + id + `","x"]}`,
		"empty id":         `{"ids":[""]}`,
		"too many":         many,
		"ids not a list":   `{"ids":"` + id + `"}`,
		"all not a bool":   `{"all":"true"}`,
		"unknown field":    `{"all":true,"user":"someone"}`,
		"trailing data":    `{"all":true}{}`,
		"array":            `[]`,
		"nested ids":       `{"ids":[["` + id + `"]]}`,
		"numeric id":       `{"ids":[1]}`,
		"spaces in the id": `{"ids":[" ` + id + `"]}`,
	} {
		status, got, _ := e.request(http.MethodPost, "/api/v1/notifications/read", "reg", body)
		if status != http.StatusBadRequest || !strings.HasPrefix(got, `{"error":`) {
			t.Errorf("%s: %d %q, want 400 with a JSON error", name, status, got)
		}
	}
	big := `{"ids":["` + strings.Repeat("1", 70<<10) + `"]}`
	if status, got, _ := e.request(http.MethodPost, "/api/v1/notifications/read", "reg", big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: %d %q, want 413", status, got)
	}
	if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/read", "", `{"all":true}`); status != http.StatusUnauthorized {
		t.Errorf("no credential: %d, want 401", status)
	}
	e.wantHistoryRead("reg", []bool{false}, 1)
	e.markRead("reg", `{"ids":["`+strings.Repeat(id+`","`, 199)+id+`"]}`) // 200 ids, duplicates
	e.wantHistoryRead("reg", []bool{true}, 0)
}

// TestReadRoutesAreRateLimitedPerUser: the new routes spend the user's API budget like
// history and tickets do.
func TestReadRoutesAreRateLimitedPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimitPerUser, c.RateLimitUserBurst = 0.001, 3 })
	paths := []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/notifications/read", `{"all":true}`},
		{http.MethodGet, "/api/v1/notifications/preferences", ""},
		{http.MethodPut, "/api/v1/notifications/preferences", `{"muted_types":[],"push":true}`},
	}
	for _, p := range paths {
		if status, body, _ := e.request(p.method, p.path, "reh", p.body); status >= 300 {
			t.Fatalf("%s %s: %d %s", p.method, p.path, status, body)
		}
	}
	for _, p := range paths {
		status, _, h := e.request(p.method, p.path, "reh", p.body)
		if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Errorf("%s %s over the budget: %d (Retry-After %q), want 429", p.method, p.path, status, h.Get("Retry-After"))
		}
	}
	if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/read", "rei", `{"all":true}`); status != http.StatusNoContent {
		t.Errorf("another user: %d, want 204", status)
	}
}

func TestAppendRead(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		read bool
		want string
	}{
		{`{"id":"1-0"}`, true, `{"id":"1-0","read":true}`},
		{`{"id":"1-0"}`, false, `{"id":"1-0","read":false}`},
		{`{}`, true, `{"read":true}`},
		{`not json`, true, `not json`},
		{``, true, ``},
	} {
		if got := string(appendRead(nil, []byte(c.in), c.read)); got != c.want {
			t.Errorf("appendRead(%s, %v) = %s, want %s", c.in, c.read, got, c.want)
		}
	}
}
