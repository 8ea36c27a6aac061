package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// These tests drive Publish as Cloud Functions does (the Functions Framework serving
// FUNCTION_TARGET=Publish, publishURL) against the real redis-server of TestMain, and
// read what it stored with a broker's After on each source, as the stream service does.
// Each test uses its own user and group ids (runID), so none sees another's logs; the
// broadcast log is shared, so tests compare its length before and after.

// runID makes ids unique to one run of one test.
func runID() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

// deliverTo posts data to url as Eventarc does (binary mode, ce-id = messageID) and
// returns the status.
func deliverTo(t testing.TB, url, messageID string, data []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(eventarc.PushBody(data, messageID, time.Now())))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-id", messageID)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", eventarc.EventType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/p/topics/notifications")
	return post(t, req)
}

// deliverStructured posts data as a structured-mode CloudEvent.
func deliverStructured(t *testing.T, url, messageID string, data []byte) int {
	t.Helper()
	ce, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": messageID, "type": eventarc.EventType,
		"source": "//pubsub.googleapis.com/projects/p/topics/notifications", "datacontenttype": "application/json",
		"data": json.RawMessage(eventarc.PushBody(data, messageID, time.Now()))})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(ce))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	return post(t, req)
}

func openBroker(t testing.TB) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.Open(config.Redis{Addr: server.Addr, KeyPrefix: "notifications"}, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// stored returns what source's log holds.
func stored(t testing.TB, b *redisbroker.Broker, source string) []notification.Envelope {
	t.Helper()
	es, err := b.After(context.Background(), source, rediskey.Zero, 2000)
	if err != nil {
		t.Fatalf("After(%s): %v", source, err)
	}
	return es
}

func announce(t testing.TB, audience map[string]any, edit map[string]any) []byte {
	t.Helper()
	m := map[string]any{"type": "announcement", "severity": "warning", "audience": audience,
		"title": "Maintenance\ntonight", "body": "Videos pause 22:00–22:30.", "link": "https://status.example/m/1",
		"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}
	for k, v := range edit {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkOne checks that source's log holds exactly one notification, the one announce
// makes, under an id that names the log, and returns its id.
func checkOne(t *testing.T, b *redisbroker.Broker, source string) string {
	t.Helper()
	es := stored(t, b, source)
	if len(es) != 1 {
		t.Fatalf("%s's log holds %d notifications, want 1", source, len(es))
	}
	var got map[string]any
	if err := json.Unmarshal(es[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	if got["id"] != es[0].ID || !strings.HasPrefix(es[0].ID, broker.ItemPrefix(source)) {
		t.Errorf("%s: id %q (data id %v), want the prefix %q", source, es[0].ID, got["id"], broker.ItemPrefix(source))
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(got["created_at"])); err != nil || es[0].ExpiresAt.IsZero() {
		t.Errorf("%s: created_at %v, expires_at %v", source, got["created_at"], es[0].ExpiresAt)
	}
	for _, k := range []string{"id", "created_at", "expires_at"} {
		delete(got, k)
	}
	want := map[string]any{"type": "announcement", "severity": "warning", "title": "Maintenance tonight",
		"body": "Videos pause 22:00–22:30.", "link": "https://status.example/m/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: stored notification (-want +got):\n%s", source, diff)
	}
	return es[0].ID
}

// TestPublishOverHTTP: a user list, a group list and a broadcast each land in exactly
// their logs, once, however often Pub/Sub delivers them.
func TestPublishOverHTTP(t *testing.T) {
	b := openBroker(t)
	run := runID()
	u1, u2, u3, g1, g2 := "pu1-"+run, "pu2-"+run, "pu3-"+run, "pg1-"+run, "pg2-"+run

	t.Run("users", func(t *testing.T) {
		data := announce(t, map[string]any{"users": []string{u1, u2, u1, u3}}, nil) // u1 twice: delivered once
		for _, send := range []func() int{
			func() int { return deliverTo(t, publishURL, "pm-users-"+run, data) },
			func() int { return deliverTo(t, publishURL, "pm-users-"+run, data) }, // redelivery
			func() int { return deliverStructured(t, publishURL, "pm-users-"+run, data) },
		} {
			if got := send(); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
		}
		for _, u := range []string{u1, u2, u3} {
			checkOne(t, b, u)
		}
	})
	t.Run("group", func(t *testing.T) {
		data := announce(t, map[string]any{"groups": []string{g1, g2}}, nil)
		for range 2 {
			if got := deliverTo(t, publishURL, "pm-group-"+run, data); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
		}
		for _, g := range []string{g1, g2} {
			checkOne(t, b, broker.GroupSource(g))
		}
		if n := len(stored(t, b, u1)); n != 1 {
			t.Errorf("a group announcement reached %s's own log: it holds %d", u1, n)
		}
	})
	t.Run("everyone", func(t *testing.T) {
		before := stored(t, b, broker.Everyone)
		data := announce(t, map[string]any{"all": true}, nil)
		for range 2 {
			if got := deliverTo(t, publishURL, "pm-all-"+run, data); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
		}
		after := stored(t, b, broker.Everyone)
		if len(after) != len(before)+1 {
			t.Fatalf("broadcast log grew by %d, want 1 (one write, not one per user)", len(after)-len(before))
		}
		if !strings.HasPrefix(after[len(after)-1].ID, broker.Everyone+":") {
			t.Errorf("broadcast id %q", after[len(after)-1].ID)
		}
		for _, s := range []string{u1, u2, u3, broker.GroupSource(g1)} {
			if n := len(stored(t, b, s)); n != 1 {
				t.Errorf("a broadcast was written to %s: it holds %d", s, n)
			}
		}
	})
	t.Run("the job path is unchanged", func(t *testing.T) {
		// A job event sent to Publish is not an announcement: refused, nothing stored.
		job := fmt.Sprintf(`{"request_id":"r","user_id":%q,"status":"completed","video_url":"https://c.example/v.mp4"}`, u1)
		if got := deliverTo(t, publishURL, "pm-job-"+run, []byte(job)); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
		if n := len(stored(t, b, u1)); n != 1 {
			t.Errorf("Publish stored a job event: %s holds %d", u1, n)
		}
		// And Notify still takes job events (an announcement sent there is refused).
		if got := deliverTo(t, baseURL, "pm-job-"+run, []byte(job)); got != http.StatusOK {
			t.Fatalf("Notify: status %d", got)
		}
		if n := len(stored(t, b, u1)); n != 2 {
			t.Errorf("Notify did not store the job: %s holds %d", u1, n)
		}
	})
}
