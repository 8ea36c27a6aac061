package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func ids(fs []frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.id
	}
	return out
}

func TestDeliveryReachesOnlyTheTokensUser(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.open("alice", "", "")
	alice2 := e.open("alice", "", "") // a second tab
	bob := e.open("bob", "", "?user=alice&user_id=alice")
	want := e.publish("alice")
	for _, c := range []*client{alice, alice2} {
		f := c.events(1)[0]
		if f.id != want || f.event != "video_complete" {
			t.Fatalf("got %+v, want id %s", f, want)
		}
		var n map[string]any
		if err := json.Unmarshal([]byte(f.data), &n); err != nil || n["id"] != want || n["request_id"] == "" {
			t.Fatalf("data %q: %v", f.data, err)
		}
	}
	bob.quiet(200 * time.Millisecond)
	bobID := e.publish("bob")
	if f := bob.events(1)[0]; f.id != bobID {
		t.Fatalf("bob got %+v", f)
	}
	alice.quiet(200 * time.Millisecond)
}

func TestDuplicateMessageDeliveredOnce(t *testing.T) {
	e := newEnv(t, nil)
	c := e.open("carol", "", "")
	ctx := context.Background()
	for range 3 {
		if _, _, err := e.pub.Publish(ctx, "carol", "same-message", sampleN()); err != nil {
			t.Fatal(err)
		}
	}
	c.events(1)
	c.quiet(300 * time.Millisecond)
}

func TestResumeWithLastEventID(t *testing.T) {
	for name, how := range map[string]func(e *env, last string) *client{
		"header": func(e *env, last string) *client { return e.open("dave", last, "") },
		"query":  func(e *env, last string) *client { return e.open("dave", "", "?last_event_id="+last) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.open("dave", "", "")
			seen := e.publish("dave")
			c.events(1)
			c.close()
			var want []string
			for range 3 {
				want = append(want, e.publish("dave"))
			}
			r := how(e, seen)
			if got := ids(r.events(3)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("resumed with %v, want %v", got, want)
			}
			r.quiet(200 * time.Millisecond)
			live := e.publish("dave")
			if f := r.events(1)[0]; f.id != live {
				t.Fatalf("live after replay: %+v, want %s", f, live)
			}
		})
	}
}

func TestResumeLongBacklogPages(t *testing.T) {
	e := newEnv(t, nil)
	first := e.publish("erin")
	var want []string
	for range 15 { // MaxLen 20 keeps them all; replay reads them in one page
		want = append(want, e.publish("erin"))
	}
	c := e.open("erin", first, "")
	if got := ids(c.events(15)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestResetWhenIDCannotBeResumed(t *testing.T) {
	e := newEnv(t, nil)
	var all []string
	for range 22 { // MaxLen 20: the first two are trimmed
		all = append(all, e.publish("frank"))
	}
	newest, oldest := all[21], all[2]
	// The broker decides expired and unknown; the stream, which parses the cursor,
	// decides malformed.
	reasons := map[string]string{"trimmed": "expired", "malformed": "malformed", "unknown": "unknown", "injection": "malformed"}
	for name, last := range map[string]string{
		"trimmed": all[0], "malformed": "yesterday", "unknown": "99999999999999-0", "injection": "1-0\r\nevent: x",
	} {
		t.Run(name, func(t *testing.T) {
			var c *client
			if strings.ContainsAny(last, "\r\n") {
				c = e.open("frank", "", "?last_event_id=1-0%0D%0Aevent:%20x")
			} else {
				c = e.open("frank", last, "")
			}
			f := c.events(1)[0]
			if f.event != "reset" || f.id != newest {
				t.Fatalf("got %+v, want reset with id %s", f, newest)
			}
			var d struct{ Reason, Oldest string }
			if err := json.Unmarshal([]byte(f.data), &d); err != nil || d.Oldest != oldest || d.Reason != reasons[name] {
				t.Fatalf("reset data %q, want reason %s oldest %s", f.data, reasons[name], oldest)
			}
			c.quiet(100 * time.Millisecond)
			live := e.publish("frank")
			if g := c.events(1)[0]; g.id != live {
				t.Fatalf("after reset got %+v, want %s", g, live)
			}
			all = append(all, live)
			newest, oldest = live, all[len(all)-20] // each publish trims one more
		})
	}
	t.Run("empty log", func(t *testing.T) {
		for _, last := range []string{"5-0", "yesterday"} {
			c := e.open("nobody", last, "")
			if f := c.events(1)[0]; f.event != "reset" || f.id != "0-0" || !strings.Contains(f.data, `"oldest":"0-0"`) {
				t.Fatalf("from %s: got %+v, want reset 0-0, oldest 0-0", last, f)
			}
		}
	})
}

func TestAuthRefusals(t *testing.T) {
	e := newEnv(t, nil)
	expired := token(t, "u", -time.Hour)
	wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("not-the-secret-not-the-secret-000"))
	for name, tok := range map[string]string{"missing": "", "garbage": "abc", "expired": expired, "wrong key": wrongKey} {
		if _, status := e.tryOpen(tok, "", ""); status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, status)
		}
	}
	// A JWT in the URL is never accepted.
	if _, status := e.tryOpen("", "", "?token="+token(t, "u", time.Hour)+"&access_token="+token(t, "u", time.Hour)); status != http.StatusUnauthorized {
		t.Errorf("token in URL: status %d, want 401", status)
	}
}

func TestHeartbeat(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Heartbeat = 100 * time.Millisecond })
	c := e.open("gina", "", "")
	c.next() // the fresh stream's id-only frame
	if f := c.next(); f.comment != "ping" {
		t.Fatalf("got %+v, want a ping comment", f)
	}
}

// TestFreshStreamAnnouncesItsPosition: a stream opened without a last id first sends an
// id-only frame (no event), so the browser's EventSource has a Last-Event-ID even before
// any notification; reconnecting with it replays what was published in between.
func TestFreshStreamAnnouncesItsPosition(t *testing.T) {
	e := newEnv(t, nil)
	c := e.open("hugo", "", "")
	if f := c.next(); f.id != "0-0" || f.event != "" || f.data != "" {
		t.Fatalf("empty log: first frame %+v, want id 0-0 only", f)
	}
	c.close()
	newest := e.publish("hugo")
	c = e.open("hugo", "", "")
	if f := c.next(); f.id != newest || f.event != "" {
		t.Fatalf("first frame %+v, want id %s only", f, newest)
	}
	c.close()
	missed := e.publish("hugo") // published while the client is away
	r := e.open("hugo", newest, "")
	if f := r.events(1)[0]; f.id != missed {
		t.Fatalf("resumed with %+v, want %s", f, missed)
	}
}

func TestStreamEndsAtTokenExpiry(t *testing.T) {
	e := newEnv(t, nil)
	c, status := e.tryOpen(token(t, "hank", 1500*time.Millisecond), "", "")
	if status != http.StatusOK {
		t.Fatal(status)
	}
	got := c.ended(5 * time.Second)
	if len(got) == 0 || got[len(got)-1].retry == "" {
		t.Fatalf("stream ended without a retry hint: %+v", got)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	metrics := "http://" + e.srv.MetricsAddr()
	for url, want := range map[string]int{e.url + "/healthz": 200, e.url + "/readyz": 200, metrics + "/metrics": 200, e.url + "/nope": 404} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", url, resp.StatusCode, want)
		}
		if strings.HasSuffix(url, "/metrics") && !strings.Contains(string(body), "sse_active_connections") {
			t.Errorf("/metrics lacks sse_active_connections")
		}
	}
}
