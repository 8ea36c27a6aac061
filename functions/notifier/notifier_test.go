package notifier

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

var now = time.Date(2026, 11, 26, 16, 30, 46, 0, time.UTC)

// pubsubEvent builds the CloudEvent Eventarc sends for one Pub/Sub message.
func pubsubEvent(t *testing.T, id string, data string, publishTime time.Time) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType(eventarc.EventType)
	e.SetSource("//pubsub.googleapis.com/projects/p/topics/content-generation-complete")
	body := map[string]any{"message": map[string]any{
		"data": base64.StdEncoding.EncodeToString([]byte(data)), "messageId": id,
		"publishTime": publishTime.Format(time.RFC3339Nano)}, "subscription": "projects/p/subscriptions/s"}
	if err := e.SetData(event.ApplicationJSON, body); err != nil {
		t.Fatal(err)
	}
	return e
}

type fixture struct {
	h       *Handler
	mem     *broker.Memory
	metrics *Metrics
	logs    *bytes.Buffer
}

func newFixture(t *testing.T, pub Publisher) fixture {
	t.Helper()
	mem, err := broker.NewMemory(broker.DefaultLimits, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if pub == nil {
		pub = mem
	}
	var logs bytes.Buffer
	m := NewMetrics(prometheus.NewRegistry())
	h, err := New(pub, slog.New(slog.NewJSONHandler(&logs, nil)), m, func() time.Time { return now }, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{h: h, mem: mem, metrics: m, logs: &logs}
}

const completed = `{"request_id":"r-1","user_id":"u-42","status":"completed","video_url":"https://cdn.example/v.mp4","title":"T"}`

func TestValidEventPublishesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	e := pubsubEvent(t, "m-1", completed, now.Add(-time.Second))
	for range 3 { // Pub/Sub delivers at least once
		if err := f.h.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.mem.After(ctx, "u-42", rediskey.Zero, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("stored %d notifications (%v), want 1", len(got), err)
	}
	var n notification.Notification
	if err := json.Unmarshal(got[0].Data, &n); err != nil {
		t.Fatal(err)
	}
	if n.Type != notification.VideoComplete || n.RequestID != "r-1" || n.VideoURL != "https://cdn.example/v.mp4" || !n.CreatedAt.Equal(now) {
		t.Errorf("stored %+v", n)
	}
	if v := testutil.ToFloat64(f.metrics.Duplicates); v != 2 {
		t.Errorf("duplicates = %v, want 2", v)
	}
	if v := testutil.ToFloat64(f.metrics.Published.WithLabelValues("video_complete")); v != 1 {
		t.Errorf("published = %v, want 1", v)
	}
}

func TestFailedJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	e := pubsubEvent(t, "m-2", `{"request_id":"r-2","user_id":"u-42","status":"failed","error":"too long"}`, now)
	if err := f.h.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	got, _ := f.mem.Latest(context.Background(), "u-42", 10)
	if len(got) != 1 || got[0].Type != notification.VideoFailed || !strings.Contains(string(got[0].Data), `"error":"too long"`) {
		t.Fatalf("stored %v", got)
	}
}

func TestRejectedInputIsAcknowledged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, reason string
		event        func(t *testing.T) event.Event
	}{
		{"bad json", "malformed", func(t *testing.T) event.Event { return pubsubEvent(t, "x1", `{nope`, now) }},
		{"bad user", "malformed", func(t *testing.T) event.Event {
			return pubsubEvent(t, "x2", strings.Replace(completed, "u-42", "u:*", 1), now)
		}},
		{"unknown status", "malformed", func(t *testing.T) event.Event {
			return pubsubEvent(t, "x3", strings.Replace(completed, "completed", "queued", 1), now)
		}},
		{"too big", "malformed", func(t *testing.T) event.Event {
			return pubsubEvent(t, "x4", strings.Replace(completed, `"T"`, `"`+strings.Repeat("t", 70000)+`"`, 1), now)
		}},
		{"wrong event type", "malformed", func(t *testing.T) event.Event {
			e := pubsubEvent(t, "x5", completed, now)
			e.SetType("google.cloud.storage.object.v1.finalized")
			return e
		}},
		{"not base64", "malformed", func(t *testing.T) event.Event {
			e := pubsubEvent(t, "x6", completed, now)
			_ = e.SetData(event.ApplicationJSON, map[string]any{"message": map[string]any{"data": "%%%"}})
			return e
		}},
		{"stale", "stale", func(t *testing.T) event.Event { return pubsubEvent(t, "x7", completed, now.Add(-25*time.Hour)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			if err := f.h.Handle(context.Background(), tc.event(t)); err != nil {
				t.Fatalf("Handle = %v, want nil (acknowledge)", err)
			}
			if got, _ := f.mem.Latest(context.Background(), "u-42", 10); len(got) != 0 {
				t.Errorf("stored %d notifications for rejected input", len(got))
			}
			if v := testutil.ToFloat64(f.metrics.Rejected.WithLabelValues(tc.reason)); v != 1 {
				t.Errorf("rejected{%s} = %v, want 1", tc.reason, v)
			}
			var line map[string]any
			if err := json.Unmarshal(f.logs.Bytes(), &line); err != nil {
				t.Fatalf("log is not one JSON line: %q", f.logs.String())
			}
			if line["level"] != "ERROR" || line["message_id"] == "" || line["reason"] != tc.reason {
				t.Errorf("log line %v lacks ERROR level, message id or reason", line)
			}
		})
	}
}

// TestBenignContentIsDelivered: what real pipelines send — titles with newlines, stack
// traces, over-long text, links that are not https — produces a notification, cleaned
// and (for a bad link) without the link, logged once at WARN and never refused.
func TestBenignContentIsDelivered(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", notification.MaxTitleLen) + "ü"
	trace := strings.Repeat("Traceback (most recent call last):\r\n\tFile \"render.py\", line 42\r\n", 200)
	job := func(status, videoURL, title, errText string) string {
		b, _ := json.Marshal(map[string]string{"request_id": "r-9", "user_id": "u-42", "status": status,
			"video_url": videoURL, "title": title, "error": errText})
		return string(b)
	}
	const cdn = "https://cdn.example/v.mp4"
	for _, tc := range []struct {
		name, data string
		typ        notification.Type
		wantURL    string
		wantTitle  string
		wantError  string
		warn       string
		cleaned    map[string]string
		counted    []string
	}{
		{"newline title", job("completed", cdn, "Photosynthesis\nPart 2", ""), notification.VideoComplete, cdn, "Photosynthesis Part 2", "",
			"notification published with cleaned fields", map[string]string{"title": "control"}, []string{"title"}},
		{"301 character title", job("completed", cdn, long, ""), notification.VideoComplete, cdn, strings.Repeat("é", notification.MaxTitleLen-1) + "…", "",
			"notification published with cleaned fields", map[string]string{"title": "truncated"}, []string{"title"}},
		{"stack trace", job("failed", "", "T", trace), notification.VideoFailed, "", "T", "",
			"notification published with cleaned fields", map[string]string{"error": "control,truncated"}, []string{"error"}},
		{"http link", job("completed", "http://cdn.example/v.mp4", "T", ""), notification.VideoComplete, "", "T", "",
			"notification published without a link", map[string]string{"video_url": "bad_url"}, []string{"video_url"}},
		{"javascript link", job("completed", "javascript:alert(1)", "T", ""), notification.VideoComplete, "", "T", "",
			"notification published without a link", map[string]string{"video_url": "bad_url"}, []string{"video_url"}},
		{"relative link", job("completed", "/v.mp4", "T", ""), notification.VideoComplete, "", "T", "",
			"notification published without a link", map[string]string{"video_url": "bad_url"}, []string{"video_url"}},
		{"no link", `{"request_id":"r-9","user_id":"u-42","status":"completed","title":"T\r\n"}`, notification.VideoComplete, "", "T", "",
			"notification published without a link", map[string]string{"title": "control", "video_url": "missing"}, []string{"title", "video_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			if err := f.h.Handle(context.Background(), pubsubEvent(t, "m-9", tc.data, now)); err != nil {
				t.Fatalf("Handle = %v", err)
			}
			got, _ := f.mem.Latest(context.Background(), "u-42", 10)
			if len(got) != 1 {
				t.Fatalf("stored %d notifications, want 1", len(got))
			}
			if bytes.ContainsAny(got[0].Data, "\r\n") {
				t.Errorf("stored JSON is not one line: %q", got[0].Data)
			}
			var n notification.Notification
			if err := json.Unmarshal(got[0].Data, &n); err != nil {
				t.Fatal(err)
			}
			if n.Type != tc.typ || n.VideoURL != tc.wantURL || n.Title != tc.wantTitle || (tc.typ == notification.VideoFailed) != (n.Error != "") {
				t.Errorf("stored %+v", n)
			}
			if v := testutil.ToFloat64(f.metrics.Rejected.WithLabelValues("malformed")); v != 0 {
				t.Errorf("rejected = %v, want 0", v)
			}
			for _, field := range tc.counted {
				if v := testutil.ToFloat64(f.metrics.Cleaned.WithLabelValues(field)); v != 1 {
					t.Errorf("cleaned{%s} = %v, want 1", field, v)
				}
			}
			var line struct {
				Level, Msg, Reason string
				MessageID          string `json:"message_id"`
				Cleaned            map[string]string
			}
			if err := json.Unmarshal(f.logs.Bytes(), &line); err != nil {
				t.Fatalf("log is not one JSON line: %q", f.logs.String())
			}
			if line.Level != "WARN" || line.Msg != tc.warn || line.MessageID != "m-9" {
				t.Errorf("log line %+v, want WARN %q for m-9", line, tc.warn)
			}
			if diff := cmp.Diff(tc.cleaned, line.Cleaned); diff != "" {
				t.Errorf("logged cleaned fields (-want +got):\n%s", diff)
			}
			if (tc.wantURL == "" && tc.typ == notification.VideoComplete) != (line.Reason != "") {
				t.Errorf("reason %q for a link drop", line.Reason)
			}
			for _, secret := range []string{"javascript", "http://", "/v.mp4", "Photosynthesis", "Traceback"} {
				if strings.Contains(f.logs.String(), secret) {
					t.Errorf("log echoes the payload (%q): %s", secret, f.logs.String())
				}
			}
		})
	}
}

type failing struct{}

func (failing) Publish(context.Context, string, string, notification.Notification) (string, bool, error) {
	return "", false, errors.New("dial tcp 10.0.0.3:6379: connection refused")
}

func TestTransientFailureAsksForRetry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, failing{})
	err := f.h.Handle(context.Background(), pubsubEvent(t, "m-3", completed, now))
	if err == nil {
		t.Fatal("Handle = nil, want an error so Pub/Sub retries")
	}
	if v := testutil.ToFloat64(f.metrics.Failures); v != 1 {
		t.Errorf("failures = %v, want 1", v)
	}
}

func TestNewRejectsNil(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, slog.Default(), &Metrics{}, time.Now, 0); err == nil {
		t.Fatal("nil publisher accepted")
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadConfig(context.Background(), env(map[string]string{"REDIS_ADDR": "127.0.0.1:1"}))
	if err != nil || c.Limits() != broker.DefaultLimits || c.MaxEventAge != 24*time.Hour {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for name, m := range map[string]map[string]string{
		"age over dedupe":  {"MAX_EVENT_AGE": "30h"},
		"bad retention":    {"LOG_RETENTION": "forever"},
		"zero max entries": {"LOG_MAX_ENTRIES": "0"},
		"zero summary":     {"LOG_SUMMARY_INTERVAL": "0s"},
	} {
		if _, err := LoadConfig(context.Background(), env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
