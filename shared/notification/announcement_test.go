package notification

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// announcementJSON is a valid announcement with edit applied to its fields (a nil
// value deletes the field), encoded as a publisher would.
func announcementJSON(t *testing.T, edit map[string]any) []byte {
	t.Helper()
	m := map[string]any{"type": "announcement", "severity": "warning", "audience": map[string]any{"users": []string{"u-1", "u-2"}},
		"title": "Maintenance tonight", "body": "Videos pause 22:00–22:30.", "link": "https://status.example/m/1",
		"expires_at": "2026-12-02T06:00:00Z"}
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

func TestValidAnnouncementType(t *testing.T) {
	t.Parallel()
	for typ, want := range map[Type]bool{
		"a": true, "announcement": true, "grade_posted": true, "a1": true, "a_": true,
		Type(strings.Repeat("a", 40)): true, Type(strings.Repeat("a", 41)): false,
		"": false, "A": false, "1": false, "_": false, "a-b": false, "a.b": false, "a b": false, "é": false,
		"reset": false, "read": false, "video_complete": false, "video_failed": false, "summary": false,
		"resets": true, "summary_weekly": true,
	} {
		if got := ValidAnnouncementType(typ); got != want {
			t.Errorf("ValidAnnouncementType(%q) = %v, want %v", typ, got, want)
		}
	}
}

// TestAnnouncementNotification: the frame data of docs/PROTOCOL.md ("id","type","severity",
// "title","body","link","created_at", and expires_at when set), one line of JSON,
// created_at at millisecond precision.
func TestAnnouncementNotification(t *testing.T) {
	t.Parallel()
	a, _, err := ParseAnnouncement(announcementJSON(t, map[string]any{"title": "Maintenance\ntonight", "body": "Videos pause\u2028 22:00–22:30."}))
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.Notification(created).Body()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"@class-7b:1764174645123-0","type":"announcement","severity":"warning","title":"Maintenance tonight",` +
		`"body":"Videos pause  22:00–22:30.","link":"https://status.example/m/1","created_at":"2026-11-26T16:30:45.123Z",` +
		`"expires_at":"2026-12-02T06:00:00.000Z"}`
	if got := string(WithID("@class-7b:1764174645123-0", body)); got != want {
		t.Errorf("notification JSON\n got %s\nwant %s", got, want)
	}
	env, err := ParseEnvelope(WithID("1-0", body))
	if err != nil || !env.ExpiresAt.Equal(a.ExpiresAt) || env.Type != "announcement" {
		t.Errorf("envelope %+v, %v", env, err)
	}

	// Without expiry, body or link: those fields are left out; severity defaults to info.
	min := Announcement{Type: "a", Audience: Audience{All: true}, Title: "T"}
	body, _ = min.Notification(created).Body()
	if got, want := string(body), `{"type":"a","severity":"info","title":"T","created_at":"2026-11-26T16:30:45.123Z"}`; got != want {
		t.Errorf("minimal notification %s, want %s", got, want)
	}

	// Built by hand, unclean: Notification cleans the text and drops the unsafe link.
	raw := Announcement{Type: "a", Title: "a\r\nb", Body: strings.Repeat("x", 3000), Link: "javascript:alert(1)"}
	n := raw.Notification(created)
	if n.Title != "a b" || n.Link != "" || len([]rune(n.Text)) != MaxBodyLen {
		t.Errorf("hand-built announcement not cleaned: %+v", n)
	}
	full, _ := n.Body()
	if bytes.ContainsAny(full, "\r\n") || !json.Valid(full) {
		t.Errorf("not one line of JSON: %q", full)
	}
}

func TestAnnouncementExpired(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	a := Announcement{ExpiresAt: at}
	if a.Expired(at.Add(-time.Nanosecond)) || !a.Expired(at) || !a.Expired(at.Add(time.Hour)) {
		t.Error("Expired is not 'now is at or after expires_at'")
	}
	if (Announcement{}).Expired(at) {
		t.Error("an announcement without expires_at expired")
	}
}

func TestAudienceKindAndLogValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a    Audience
		kind string
	}{{Audience{Users: []string{"u"}}, AudienceUsers}, {Audience{Groups: []string{"g"}}, AudienceGroups}, {Audience{All: true}, AudienceAll}} {
		if got := tc.a.Kind(); got != tc.kind {
			t.Errorf("%+v.Kind() = %q, want %q", tc.a, got, tc.kind)
		}
	}
	a := Announcement{Type: "a", Severity: SeverityInfo, Audience: Audience{Users: []string{"secret-user"}}, Title: "secret title"}
	v := a.LogValue().String()
	if strings.Contains(v, "secret") || !strings.Contains(v, "users=1") {
		t.Errorf("LogValue = %s: want counts, never ids or text", v)
	}
	c := AnnouncementCleaned{Title: FixControl, Link: FixTrimmed}
	if got := c.LogValue().String(); got != "[title=control link=trimmed]" || !c.Any() || (AnnouncementCleaned{}).Any() {
		t.Errorf("AnnouncementCleaned.LogValue = %s", got)
	}
}
