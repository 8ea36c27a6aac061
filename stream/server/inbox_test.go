package server

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// inboxEventOf returns c's next `event: inbox` frame, skipping others; it fails on an
// id: line (an inbox change is no log position).
func (c *client) inboxEventOf() frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.event == inboxEvent {
			if f.id != "" {
				c.t.Fatalf("inbox event with an id: line: %+v", f)
			}
			return f
		}
	}
}

// TestInboxEventReachesEveryStreamOfTheUser: seen, archive and unarchive, posted to
// either of two instances over one Redis, reach every stream of the user on both as
// `event: inbox` with the data of docs/PROTOCOL.md "Seen and archived", and no stream
// of another user.
func TestInboxEventReachesEveryStreamOfTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	first := e.url
	a := e.open("ina", "", "")
	e.start(nil) // a second instance over the same Redis
	second := e.url
	b := e.open("ina", "", "")
	other := e.open("inb", "", "")
	n1 := e.publish("ina")
	for _, c := range []*client{a, b} {
		if f := c.events(1)[0]; f.id != n1 {
			t.Fatalf("got %+v, want %s", f, n1)
		}
	}
	ids := `"ids":["` + n1 + `"]`
	for i, step := range []struct{ path, body, data string }{
		{"seen", `{` + ids + `}`, `{"op":"seen",` + ids + `}`},
		{"seen", `{"all":true}`, `{"op":"seen","all":true}`},
		{"archive", `{` + ids + `}`, `{"op":"archive",` + ids + `}`},
		{"unarchive", `{` + ids + `}`, `{"op":"unarchive",` + ids + `}`},
	} {
		e.url = []string{first, second}[i%2]
		status, got, _ := e.request(http.MethodPost, "/api/v1/notifications/"+step.path, "ina", step.body)
		if status != http.StatusNoContent || got != "" {
			t.Fatalf("POST %s %s = %d %q, want 204", step.path, step.body, status, got)
		}
		for _, c := range []*client{a, b} {
			if f := c.inboxEventOf(); f.data != step.data {
				t.Fatalf("%s: inbox event data %q, want %q", step.path, f.data, step.data)
			}
		}
	}
	other.quiet(300 * time.Millisecond)
}

// TestInboxRoutesValidation: malformed bodies are 400 and change nothing; no token is
// 401; ids the log does not hold are ignored (204).
func TestInboxRoutesValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id := e.publish("inc")
	for _, c := range []struct{ path, body string }{
		{"seen", `{}`}, {"seen", `{"all":false}`}, {"seen", `{"ids":[]}`}, {"seen", `{"ids":["x"]}`},
		{"seen", `{"ids":["` + id + `"],"all":true}`}, {"archive", `{"all":true}`}, {"archive", `{"ids":[]}`},
		{"unarchive", `{"ids":["` + id + `","bad"]}`}, {"archive", `{"ids":["` + strings.Repeat(id+`","`, 200) + id + `"]}`},
	} {
		if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/"+c.path, "inc", c.body); status != http.StatusBadRequest {
			t.Errorf("POST %s %s = %d, want 400", c.path, c.body, status)
		}
	}
	for _, path := range []string{"seen", "archive", "unarchive"} {
		if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/"+path, "", `{"ids":["`+id+`"]}`); status != http.StatusUnauthorized {
			t.Errorf("POST %s without a token = %d, want 401", path, status)
		}
		if status, _, _ := e.request(http.MethodPost, "/api/v1/notifications/"+path, "inc", `{"ids":["1-0"]}`); status != http.StatusNoContent {
			t.Errorf("POST %s of an id not held = %d, want 204", path, status)
		}
	}
}
