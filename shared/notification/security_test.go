package notification

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSecurity_ExpiryBeyond9999RoundTrips: issue 23 item 1. A non-UTC publisher's
// "never expires" (9999-12-31T23:59:59-05:00, 10000-01-01 in UTC) was stored as a
// five-digit year that no reader parsed back, and one such entry made every history
// page fail. The parser clamps it to MaxTime and what is stored parses back.
func TestSecurity_ExpiryBeyond9999RoundTrips(t *testing.T) {
	t.Parallel()
	data := `{"type":"notice","audience":{"all":true},"title":"x","expires_at":"9999-12-31T23:59:59-05:00"}`
	a, _, err := ParseAnnouncement([]byte(data))
	if err != nil {
		t.Fatalf("ParseAnnouncement: %v", err)
	}
	if !a.ExpiresAt.Equal(MaxTime) {
		t.Errorf("ExpiresAt = %v, want it clamped to %v", a.ExpiresAt, MaxTime)
	}
	body, err := a.Notification(time.Now()).Body()
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelope(WithID("1-0", body))
	if err != nil {
		t.Fatalf("the stored notification does not parse back: %v (%s)", err, body)
	}
	if !e.ExpiresAt.Equal(MaxTime) || e.Expired(time.Now()) {
		t.Errorf("parsed back ExpiresAt = %v, want %v, not expired", e.ExpiresAt, MaxTime)
	}
	// Built by hand, past the parser: the encoding still parses back.
	n := Notification{Type: "notice", CreatedAt: Timestamp{time.Date(10000, 1, 1, 4, 59, 59, 0, time.UTC)},
		ExpiresAt: &Timestamp{time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)}}
	body, err = n.Body()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseEnvelope(WithID("1-0", body)); err != nil {
		t.Errorf("out-of-range times encode as %s, which does not parse back: %v", body, err)
	}
}

// TestSecurity_EventSourceTypesReserved: issue 23 item 5. An announcement typed error,
// open or message would fire an EventSource client's onerror, onopen or onmessage; the
// parser refuses them, naming the type.
func TestSecurity_EventSourceTypesReserved(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"error", "open", "message"} {
		data, _ := json.Marshal(map[string]any{"type": typ, "audience": map[string]any{"all": true}, "title": "x"})
		_, _, err := ParseAnnouncement(data)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `type "`+typ+`" is reserved`) {
			t.Errorf("type %s: err = %v, want a refusal naming it reserved", typ, err)
		}
		if ValidAnnouncementType(Type(typ)) {
			t.Errorf("ValidAnnouncementType(%s) = true", typ)
		}
	}
}
