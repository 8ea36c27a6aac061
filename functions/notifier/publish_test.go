package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// publishFixture is a Publish handler over an in-memory broker (or pub), with its
// metrics and logs. The Redis path is tested in the root package.
type publishFixture struct {
	h       *Handler
	mem     *broker.Memory
	metrics *Metrics // Publish's view
	logs    *bytes.Buffer
}

func newPublishFixture(t *testing.T, pub Publisher, opts ...Option) publishFixture {
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
	h, err := NewPublish(pub, slog.New(slog.NewJSONHandler(&logs, nil)), m, func() time.Time { return now }, 24*time.Hour, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return publishFixture{h: h, mem: mem, metrics: m.For(PublishEntryPoint), logs: &logs}
}

func announcementData(audience string, extra string) string {
	return `{"type":"grade_posted","severity":"success","audience":` + audience + `,"title":"Quiz 3 graded"` + extra + `}`
}

func (f publishFixture) count(t *testing.T, source string) int {
	t.Helper()
	es, err := f.mem.After(context.Background(), source, rediskey.Zero, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestPublishAudiences: each audience lands in exactly its logs, once per message ID
// (redeliveries are duplicates), and is counted by type and by audience.
func TestPublishAudiences(t *testing.T) {
	t.Parallel()
	f := newPublishFixture(t, nil)
	ctx := context.Background()
	for i, tc := range []struct {
		audience string
		logs     []string
		kind     string
	}{
		{`{"users":["u-1","u-2","u-1"]}`, []string{"u-1", "u-2"}, notification.AudienceUsers},
		{`{"groups":["class-7b"]}`, []string{broker.GroupSource("class-7b")}, notification.AudienceGroups},
		{`{"all":true}`, []string{broker.Everyone}, notification.AudienceAll},
	} {
		e := pubsubEvent(t, fmt.Sprint("a-", i), announcementData(tc.audience, ""), now)
		for range 2 {
			if err := f.h.Handle(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range tc.logs {
			if n := f.count(t, s); n != 1 {
				t.Errorf("%s: %s holds %d, want 1", tc.audience, s, n)
			}
		}
		if v := testutil.ToFloat64(f.metrics.Writes.WithLabelValues(tc.kind)); v != float64(len(tc.logs)) {
			t.Errorf("writes{%s} = %v, want %d", tc.kind, v, len(tc.logs))
		}
	}
	if n := f.count(t, "u-3"); n != 0 {
		t.Errorf("u-3 got %d", n)
	}
	if v := testutil.ToFloat64(f.metrics.Published.WithLabelValues("grade_posted")); v != 3 {
		t.Errorf("published{Publish,grade_posted} = %v, want 3", v)
	}
	if v := testutil.ToFloat64(f.metrics.Duplicates); v != 3 {
		t.Errorf("duplicates{Publish} = %v, want 3", v)
	}
	// Notify's counters are apart.
	if v := testutil.ToFloat64(f.metrics.For(NotifyEntryPoint).Duplicates); v != 0 {
		t.Errorf("duplicates{Notify} = %v, want 0", v)
	}
	es, _ := f.mem.Latest(ctx, "u-1", 1)
	var n map[string]any
	if err := json.Unmarshal(es[0].Data, &n); err != nil {
		t.Fatal(err)
	}
	if n["type"] != "grade_posted" || n["severity"] != "success" || n["title"] != "Quiz 3 graded" || n["created_at"] != "2026-11-26T16:30:46.000Z" {
		t.Errorf("stored %v", n)
	}
}

// TestPublishRefusals: refused input is acknowledged (nil: no retry), logged at ERROR
// with the message id and reason (never the input), counted by reason, and stores
// nothing. An expires_at already past is refused as "expired".
func TestPublishRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data, reason string
		published          time.Time
	}{
		{"two audiences", announcementData(`{"users":["u-1"],"all":true}`, ""), "malformed", now},
		{"reserved type", strings.Replace(announcementData(`{"users":["u-1"]}`, ""), "grade_posted", "reset", 1), "malformed", now},
		{"bad id", announcementData(`{"users":["u-1","secret:*"]}`, ""), "malformed", now},
		{"http link", announcementData(`{"users":["u-1"]}`, `,"link":"http://secret.example/"`), "malformed", now},
		{"over 64 KiB", announcementData(`{"users":["u-1"]}`, `,"body":"`+strings.Repeat("s", 70000)+`"`), "malformed", now},
		{"expired", announcementData(`{"users":["u-1"]}`, `,"expires_at":"2026-11-26T16:30:45Z"`), "expired", now},
		{"stale", announcementData(`{"users":["u-1"]}`, ""), "stale", now.Add(-25 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newPublishFixture(t, nil)
			if err := f.h.Handle(context.Background(), pubsubEvent(t, "bad-1", tc.data, tc.published)); err != nil {
				t.Fatalf("Handle = %v, want nil (acknowledged)", err)
			}
			for _, s := range []string{"u-1", broker.Everyone} {
				if n := f.count(t, s); n != 0 {
					t.Errorf("stored %d in %s", n, s)
				}
			}
			if v := testutil.ToFloat64(f.metrics.Rejected.WithLabelValues(tc.reason)); v != 1 {
				t.Errorf("rejected{%s} = %v, want 1", tc.reason, v)
			}
			lines := logLines(t, f.logs)
			if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["msg"] != "announcement rejected" ||
				lines[0]["message_id"] != "bad-1" || lines[0]["reason"] != tc.reason || lines[0]["component"] != "publish" {
				t.Fatalf("log: %s", f.logs)
			}
			if strings.Contains(f.logs.String(), "secret") || strings.Contains(f.logs.String(), "sssss") {
				t.Errorf("the log echoes the input: %s", f.logs)
			}
		})
	}
}

// TestPublishCleanedIsWarned: display fields are cleaned, not refused: delivered,
// one WARN line naming the fields (not the values), counted by field.
func TestPublishCleanedIsWarned(t *testing.T) {
	t.Parallel()
	f := newPublishFixture(t, nil)
	data := `{"type":"a","audience":{"users":["u-1"]},"title":"Quiz\n3","body":"` + strings.Repeat("b", 2100) + `"}`
	if err := f.h.Handle(context.Background(), pubsubEvent(t, "c-1", data, now)); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, "u-1"); n != 1 {
		t.Fatalf("stored %d", n)
	}
	lines := logLines(t, f.logs)
	if len(lines) != 1 || lines[0]["level"] != "WARN" || lines[0]["msg"] != "announcement published with cleaned fields" {
		t.Fatalf("log: %s", f.logs)
	}
	if got := fmt.Sprint(lines[0]["cleaned"]); got != "map[body:truncated title:control]" || strings.Contains(f.logs.String(), "Quiz") {
		t.Errorf("cleaned = %s; log %s", got, f.logs)
	}
	for _, field := range []string{"title", "body"} {
		if v := testutil.ToFloat64(f.metrics.Cleaned.WithLabelValues(field)); v != 1 {
			t.Errorf("cleaned{%s} = %v", field, v)
		}
	}
}

// TestPublishSummaryLine: Publish writes its own INFO summary, with the writes.
func TestPublishSummaryLine(t *testing.T) {
	t.Parallel()
	c := &clock{t: now}
	mem, _ := broker.NewMemory(broker.DefaultLimits, time.Now)
	var logs bytes.Buffer
	h, err := NewPublish(mem, slog.New(slog.NewJSONHandler(&logs, nil)), NewMetrics(prometheus.NewRegistry()), c.now, 0,
		WithSummaryInterval(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	aud, _ := userList(5)
	for i := range 3 {
		if err := h.Handle(context.Background(), pubsubEvent(t, fmt.Sprint("m-", i), announcementData(aud, ""), now)); err != nil {
			t.Fatal(err)
		}
	}
	c.add(10 * time.Second)
	_ = h.Handle(context.Background(), pubsubEvent(t, "m-0", announcementData(aud, ""), now)) // a duplicate
	lines := logLines(t, &logs)
	if len(lines) != 1 || lines[0]["msg"] != "publish summary" {
		t.Fatalf("want one summary line, no line per announcement: %s", &logs)
	}
	for k, want := range map[string]float64{"published": 3, "writes": 15, "duplicates": 1, "rejected": 0} {
		if lines[0][k] != want {
			t.Errorf("summary %s = %v, want %v", k, lines[0][k], want)
		}
	}
}

func TestSources(t *testing.T) {
	t.Parallel()
	if notification.MaxAudienceGroups != broker.MaxGroups {
		t.Errorf("an announcement may name %d groups, a stream follows %d", notification.MaxAudienceGroups, broker.MaxGroups)
	}
	for _, tc := range []struct {
		a    notification.Audience
		want []string
	}{
		{notification.Audience{Users: []string{"u-1", "u-2"}}, []string{"u-1", "u-2"}},
		{notification.Audience{Groups: []string{"class-7b"}}, []string{"@class-7b"}},
		{notification.Audience{All: true}, []string{"!all"}},
	} {
		got := Sources(tc.a)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Sources(%+v) = %q, want %q", tc.a, got, tc.want)
		}
		for _, s := range got {
			if !broker.ValidSource(s) {
				t.Errorf("%q is not a valid source", s)
			}
		}
	}
}

func TestNewPublishChecks(t *testing.T) {
	t.Parallel()
	mem, _ := broker.NewMemory(broker.DefaultLimits, time.Now)
	if _, err := NewPublish(mem, slog.Default(), NewMetrics(prometheus.NewRegistry()), time.Now, 0, WithConcurrency(0)); err == nil {
		t.Error("concurrency 0 accepted")
	}
	if _, err := NewPublish(mem, slog.Default(), &Metrics{}, time.Now, 0); err == nil {
		t.Error("metrics not from NewMetrics accepted")
	}
	// Both entry points on one registry (make run): no duplicate registration.
	m := NewMetrics(prometheus.NewRegistry())
	if _, err := New(mem, slog.Default(), m, time.Now, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPublish(mem, slog.Default(), m, time.Now, 0); err != nil {
		t.Fatal(err)
	}
}
