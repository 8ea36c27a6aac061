package notification

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseAnnouncement checks the promises of ParseAnnouncement for any message.data:
// it never panics; a refusal wraps ErrInvalid with a short one-line reason; an accepted
// announcement has a valid, unreserved type, a known severity, exactly one audience of
// valid, distinct ids within the limits, cleaned non-blank text within its limits and an
// https link or none; its notification encodes to one line of JSON; and encoding it
// back as a publisher would parses to the same announcement.
func FuzzParseAnnouncement(f *testing.F) {
	f.Add([]byte(`{"type":"announcement","severity":"info","audience":{"users":["u-1","u-2"]},"title":"Maintenance tonight","body":"Videos pause 22:00–22:30.","link":"https://status.example/","expires_at":"2026-12-02T06:00:00Z"}`))
	f.Add([]byte(`{"type":"a","audience":{"groups":["g","g"]},"title":"a\nb\u2028","body":"Traceback:\r\n\tat x"}`))
	f.Add([]byte(`{"type":"a","audience":{"all":true,"users":["u"]},"title":"T"}`))
	f.Add([]byte(`{"type":"reset","audience":{"all":true},"title":"T"}`))
	f.Add([]byte(`{"type":"a","audience":{"all":true},"title":"T","link":"http://x.example"}`))
	f.Add([]byte(`{"type":"a","audience":{"users":[]},"title":"T"}`))
	f.Add([]byte(`{"type":"a","audience":{"all":true},"title":"\ud83d\ude00\u0301","expires_at":"2026-12-02T07:00:00.5+01:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, _, err := ParseAnnouncement(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if msg := err.Error(); len(msg) > 200 || strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
				t.Fatalf("reason is not one short line: %q", msg)
			}
			return
		}
		checkAnnouncement(t, a)

		b, err := a.Notification(time.Unix(0, 0)).Body()
		if err != nil {
			t.Fatal(err)
		}
		full := WithID("@g:1-0", b)
		if bytes.ContainsAny(full, "\r\n\u2028\u2029") || !json.Valid(full) {
			t.Fatalf("notification JSON is not one valid line: %q", full)
		}

		again, c2, err := ParseAnnouncement(encodeAnnouncement(t, a))
		if err != nil {
			t.Fatalf("re-encoded announcement refused: %v", err)
		}
		if c2.Any() {
			t.Fatalf("re-parsing a parsed announcement cleaned %+v", c2)
		}
		if !sameAnnouncement(a, again) {
			t.Fatalf("round trip changed it:\n once  %+v\n twice %+v", a, again)
		}
	})
}

// typeRule is the type rule of docs/PROTOCOL.md, written independently of the parser.
var typeRule = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// FuzzAnnouncementFields checks which announcements are refused, against a model of the
// rules written independently of the parser: only the routing fields (type, severity),
// a blank title, a non-https link and a malformed expires_at refuse one; any other text
// in title and body is cleaned and delivered.
func FuzzAnnouncementFields(f *testing.F) {
	f.Add("announcement", "info", "Maintenance tonight", "Videos pause.", "https://status.example/", "2026-12-02T06:00:00Z")
	f.Add("grade_posted", "", "a\r\nb\xff", strings.Repeat("😀", MaxBodyLen+1), "", "")
	f.Add("Reset", "warning", "\n\t", "", "http://x.example", "tomorrow")
	f.Add("summary", "critical", "T", "", " https://x.example/\n", "2026-12-02T06:00:00+01:00")
	f.Fuzz(func(t *testing.T, typ, severity, title, body, link, expires string) {
		data, err := json.Marshal(map[string]any{"type": typ, "severity": severity, "audience": map[string]any{"groups": []string{"class-7b"}},
			"title": title, "body": body, "link": link, "expires_at": expires})
		if err != nil {
			t.Skip() // not representable as a publisher's JSON
		}
		if len(data) > MaxDataBytes {
			t.Skip()
		}
		// encoding/json turns each invalid UTF-8 byte into U+FFFD, as a conversion to
		// []rune does: the model sees what the parser sees.
		typ, severity, link, expires = string([]rune(typ)), string([]rune(severity)), string([]rune(link)), string([]rune(expires))
		cleanTitle, _ := cleanText(string([]rune(title)), MaxTitleLen)
		trimmedLink := strings.Trim(link, " \t\r\n")
		_, timeErr := time.Parse(time.RFC3339Nano, expires)
		wantOK := typeRule.MatchString(typ) && !slices.Contains([]string{"reset", "read", "video_complete", "video_failed", "summary"}, typ) &&
			slices.Contains([]string{"", "info", "success", "warning", "error"}, severity) &&
			cleanTitle != "" &&
			(trimmedLink == "" || validVideoURL(trimmedLink)) &&
			(expires == "" || timeErr == nil)

		a, _, err := ParseAnnouncement(data)
		if (err == nil) != wantOK {
			t.Fatalf("ParseAnnouncement(%s) = %v; the rules say accepted = %v", data, err, wantOK)
		}
		if err != nil {
			return
		}
		checkAnnouncement(t, a)
		if a.Title != cleanTitle || a.Link != trimmedLink || a.Audience.Kind() != AudienceGroups {
			t.Fatalf("accepted %+v; want title %q, link %q", a, cleanTitle, trimmedLink)
		}
	})
}

// checkAnnouncement checks what every accepted announcement must satisfy.
func checkAnnouncement(t *testing.T, a Announcement) {
	t.Helper()
	if !typeRule.MatchString(string(a.Type)) || a.Type.Reserved() {
		t.Fatalf("accepted type %q", a.Type)
	}
	if !a.Severity.Valid() {
		t.Fatalf("accepted severity %q", a.Severity)
	}
	kinds := 0
	for _, list := range []struct {
		ids   []string
		limit int
	}{{a.Audience.Users, MaxAudienceUsers}, {a.Audience.Groups, MaxAudienceGroups}} {
		if len(list.ids) == 0 {
			continue
		}
		kinds++
		if len(list.ids) > list.limit {
			t.Fatalf("accepted %d ids, over %d", len(list.ids), list.limit)
		}
		seen := map[string]bool{}
		for _, id := range list.ids {
			if !ValidUserID(id) || seen[id] {
				t.Fatalf("accepted id %q (invalid or repeated) in %q", id, list.ids)
			}
			seen[id] = true
		}
	}
	if a.Audience.All {
		kinds++
	}
	if kinds != 1 {
		t.Fatalf("accepted an audience of %d kinds: %+v", kinds, a.Audience)
	}
	if a.Title == "" {
		t.Fatal("accepted a blank title")
	}
	checkFuzzText(t, "title", a.Title, MaxTitleLen)
	checkFuzzText(t, "body", a.Body, MaxBodyLen)
	if a.Link != "" && !validVideoURL(a.Link) {
		t.Fatalf("accepted link %q", a.Link)
	}
	if !a.ExpiresAt.IsZero() && a.ExpiresAt.Location() != time.UTC {
		t.Fatalf("expires_at %v is not UTC", a.ExpiresAt)
	}
}

// encodeAnnouncement writes a as a publisher would.
func encodeAnnouncement(t *testing.T, a Announcement) []byte {
	t.Helper()
	m := map[string]any{"type": a.Type, "severity": a.Severity, "title": a.Title, "body": a.Body, "link": a.Link}
	switch a.Audience.Kind() {
	case AudienceUsers:
		m["audience"] = map[string]any{"users": a.Audience.Users}
	case AudienceGroups:
		m["audience"] = map[string]any{"groups": a.Audience.Groups}
	default:
		m["audience"] = map[string]any{"all": true}
	}
	if !a.ExpiresAt.IsZero() {
		m["expires_at"] = a.ExpiresAt.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameAnnouncement(a, b Announcement) bool {
	return a.Type == b.Type && a.Severity == b.Severity && slices.Equal(a.Audience.Users, b.Audience.Users) &&
		slices.Equal(a.Audience.Groups, b.Audience.Groups) && a.Audience.All == b.Audience.All &&
		a.Title == b.Title && a.Body == b.Body && a.Link == b.Link && a.ExpiresAt.Equal(b.ExpiresAt)
}
