package webpush

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestUrgency(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ, severity string
		want          Urgency
	}{
		{"video_complete", "", UrgencyHigh},
		{"video_failed", "", UrgencyHigh},
		{"announcement", "error", UrgencyHigh},
		{"announcement", "warning", UrgencyNormal},
		{"grade", "success", UrgencyNormal},
		{"announcement", "info", UrgencyNormal},
		{SummaryType, "info", UrgencyNormal},
	} {
		if got := urgencyOf(c.typ, c.severity); got != c.want {
			t.Errorf("urgencyOf(%q, %q) = %q, want %q", c.typ, c.severity, got, c.want)
		}
	}
}

func TestPushTTL(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for name, c := range map[string]struct {
		expires time.Time
		want    time.Duration
		live    bool
	}{
		"no expiry":      {time.Time{}, day, true},
		"expires later":  {now.Add(3 * day), day, true},
		"expires sooner": {now.Add(2 * time.Hour), 2 * time.Hour, true},
		"expired":        {now.Add(-time.Second), 0, false},
	} {
		got, live := pushTTL(day, c.expires, now)
		if got != c.want || live != c.live {
			t.Errorf("%s: %v %v, want %v %v", name, got, live, c.want, c.live)
		}
	}
}

func TestFitPayload(t *testing.T) {
	t.Parallel()
	small := []byte(`{"id":"1-0","type":"announcement","title":"Hi","body":"short"}`)
	if got, err := fitPayload(small); err != nil || string(got) != string(small) {
		t.Errorf("small payload changed: %s %v", got, err)
	}
	big := []byte(`{"id":"1-0","type":"announcement","title":"Maintenance","body":"` +
		strings.Repeat(`\u00e9`, 2000) + `","link":"https://vividly.example/m"}`)
	got, err := fitPayload(big)
	if err != nil || len(got) > MaxPayload {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	var doc map[string]any
	json.Unmarshal(got, &doc)
	if doc["body"] != nil || doc["truncated"] != true || doc["title"] != "Maintenance" || doc["link"] == nil {
		t.Errorf("cut payload %s", got)
	}
}

func TestSummaryAndTopic(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 16, 30, 45, 123e6, time.UTC)
	want := `{"id":"9-0","type":"summary","severity":"info","title":"3 new notifications","count":3,"created_at":"2026-11-26T16:30:45.123Z"}`
	if got := string(summaryPayload(3, "9-0", now)); got != want {
		t.Errorf("summary\n got %s\nwant %s", got, want)
	}
	key := make([]byte, 32)
	a, b := topicFor(key, "u-1", 1000), topicFor(key, "u-1", 2000)
	if !topicRE.MatchString(a) || a == b || a != topicFor(key, "u-1", 1000) || strings.Contains(a, "u-1") {
		t.Errorf("topics %q %q: want stable, per window, <= 32 base64url characters, not the user id", a, b)
	}
}
