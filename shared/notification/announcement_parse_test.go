package notification

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func TestParseAnnouncementAccepts(t *testing.T) {
	t.Parallel()
	a := strings.Repeat
	expires := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	base := Announcement{Type: "announcement", Severity: SeverityWarning, Audience: Audience{Users: []string{"u-1", "u-2"}},
		Title: "Maintenance tonight", Body: "Videos pause 22:00–22:30.", Link: "https://status.example/m/1", ExpiresAt: expires}
	with := func(f func(*Announcement)) Announcement { c := base; f(&c); return c }
	for _, tc := range []struct {
		name    string
		edit    map[string]any
		raw     string // used instead of edit when set
		want    Announcement
		cleaned AnnouncementCleaned
	}{
		{name: "the PROTOCOL example", want: base},
		{name: "group", edit: map[string]any{"audience": map[string]any{"groups": []string{"class-7b", "teachers"}}},
			want: with(func(a *Announcement) { a.Audience = Audience{Groups: []string{"class-7b", "teachers"}} })},
		{name: "everyone", edit: map[string]any{"audience": map[string]any{"all": true}},
			want: with(func(a *Announcement) { a.Audience = Audience{All: true} })},
		{name: "1000 users", edit: map[string]any{"audience": map[string]any{"users": ids("u", 1000)}},
			want: with(func(a *Announcement) { a.Audience = Audience{Users: ids("u", 1000)} })},
		{name: "100 groups", edit: map[string]any{"audience": map[string]any{"groups": ids("g", 100)}},
			want: with(func(a *Announcement) { a.Audience = Audience{Groups: ids("g", 100)} })},
		{name: "duplicate users delivered once, first order kept",
			edit: map[string]any{"audience": map[string]any{"users": []string{"b", "a", "b", "a", "c"}}},
			want: with(func(a *Announcement) { a.Audience = Audience{Users: []string{"b", "a", "c"}} })},
		{name: "duplicate groups", edit: map[string]any{"audience": map[string]any{"groups": []string{"g", "g"}}},
			want: with(func(a *Announcement) { a.Audience = Audience{Groups: []string{"g"}} })},
		{name: "minimal: severity defaults to info", raw: `{"type":"grade_posted","audience":{"all":true},"title":"T"}`,
			want: Announcement{Type: "grade_posted", Severity: SeverityInfo, Audience: Audience{All: true}, Title: "T"}},
		{name: "empty optional strings are absent", raw: `{"type":"a","severity":"","audience":{"all":true},"title":"T","body":"","link":"","expires_at":""}`,
			want: Announcement{Type: "a", Severity: SeverityInfo, Audience: Audience{All: true}, Title: "T"}},
		{name: "nulls are absent", raw: `{"type":"a","severity":null,"audience":{"all":true},"title":"T","body":null,"link":null,"expires_at":null}`,
			want: Announcement{Type: "a", Severity: SeverityInfo, Audience: Audience{All: true}, Title: "T"}},
		{name: "unknown fields ignored", edit: map[string]any{"priority": 3, "x": map[string]any{"y": []int{1}}}, want: base},
		{name: "repeated field: the last counts", raw: `{"type":"a","audience":{"users":["u"]},"audience":{"all":true},"title":"T"}`,
			want: Announcement{Type: "a", Severity: SeverityInfo, Audience: Audience{All: true}, Title: "T"}},
		{name: "type of 40", edit: map[string]any{"type": "a" + a("b_9", 13)}, want: with(func(x *Announcement) { x.Type = Type("a" + a("b_9", 13)) })},
		{name: "scheduled with a key", edit: map[string]any{"send_at": "2026-12-01T08:00:00+01:00", "schedule_key": "deadline:hw-7.b_1"},
			want: with(func(x *Announcement) {
				x.SendAt, x.ScheduleKey = time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC), "deadline:hw-7.b_1"
			})},
		{name: "scheduled without a key", edit: map[string]any{"send_at": "2026-12-01T07:00:00Z"},
			want: with(func(x *Announcement) { x.SendAt = time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC) })},
		{name: "mandatory warning", edit: map[string]any{"mandatory": true}, want: with(func(x *Announcement) { x.Mandatory = true })},
		{name: "mandatory error", edit: map[string]any{"mandatory": true, "severity": "error"},
			want: with(func(x *Announcement) { x.Mandatory, x.Severity = true, SeverityError })},
		{name: "mandatory false with info", edit: map[string]any{"mandatory": false, "severity": "info"},
			want: with(func(x *Announcement) { x.Severity = SeverityInfo })},
		{name: "every severity: success", edit: map[string]any{"severity": "success"}, want: with(func(x *Announcement) { x.Severity = SeveritySuccess })},
		{name: "every severity: error", edit: map[string]any{"severity": "error"}, want: with(func(x *Announcement) { x.Severity = SeverityError })},
		{name: "expires_at with offset and fraction", edit: map[string]any{"expires_at": "2026-12-02T07:00:00.5+01:00"},
			want: with(func(x *Announcement) { x.ExpiresAt = expires.Add(500 * time.Millisecond) })},
		{name: "already expired is parsed, not refused", edit: map[string]any{"expires_at": "2000-01-01T00:00:00Z"},
			want: with(func(x *Announcement) { x.ExpiresAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{name: "title newline", edit: map[string]any{"title": "Maintenance\ntonight\r\n"},
			want: base, cleaned: AnnouncementCleaned{Title: FixControl}},
		{name: "body stack trace", edit: map[string]any{"body": stackTrace},
			want:    with(func(x *Announcement) { x.Body = cleanedStack(t) }),
			cleaned: AnnouncementCleaned{Body: FixControl | FixTruncated}},
		{name: "long title cut", edit: map[string]any{"title": a("é", 400)},
			want: with(func(x *Announcement) { x.Title = a("é", MaxTitleLen-1) + "…" }), cleaned: AnnouncementCleaned{Title: FixTruncated}},
		{name: "unicode kept", edit: map[string]any{"title": "Photosynthèse 🌱 光合作用", "body": "👩\u200d👩\u200d👧 🇫🇷 e\u0301"},
			want: with(func(x *Announcement) {
				x.Title, x.Body = "Photosynthèse 🌱 光合作用", "👩\u200d👩\u200d👧 🇫🇷 e\u0301"
			})},
		{name: "line separators", edit: map[string]any{"title": "a\u2028b\u2029c"},
			want: with(func(x *Announcement) { x.Title = "a b c" }), cleaned: AnnouncementCleaned{Title: FixControl}},
		{name: "escaped invalid surrogate becomes U+FFFD", raw: `{"type":"a","audience":{"all":true},"title":"a\ud800b"}`,
			want: Announcement{Type: "a", Severity: SeverityInfo, Audience: Audience{All: true}, Title: "a\ufffdb"}},
		{name: "link trimmed", edit: map[string]any{"link": " https://status.example/m/1\n"}, want: base, cleaned: AnnouncementCleaned{Link: FixTrimmed}},
		{name: "whitespace link is no link", edit: map[string]any{"link": " \n"},
			want: with(func(x *Announcement) { x.Link = "" }), cleaned: AnnouncementCleaned{Link: FixTrimmed}},
		{name: "data of exactly 64 KiB", raw: padded(t, MaxDataBytes),
			want: Announcement{Type: "a", Severity: SeverityInfo, Audience: Audience{All: true}, Title: "T"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tc.raw)
			if tc.raw == "" {
				data = announcementJSON(t, tc.edit)
			}
			got, cleaned, err := ParseAnnouncement(data)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("announcement (-want +got):\n%s", diff)
			}
			if cleaned != tc.cleaned {
				t.Errorf("cleaned %+v, want %+v", cleaned, tc.cleaned)
			}
		})
	}
}

func cleanedStack(t *testing.T) string {
	s, _ := cleanText(stackTrace, MaxBodyLen)
	if !strings.HasPrefix(s, "Traceback (most recent call last): File \"render.py\"") || !strings.HasSuffix(s, "…") {
		t.Fatalf("stack trace cleaned to %q", s)
	}
	return s
}

// padded is a valid announcement of exactly n bytes (an ignored field makes up the size).
func padded(t *testing.T, n int) string {
	const head, tail = `{"type":"a","audience":{"all":true},"title":"T","pad":"`, `"}`
	if n < len(head)+len(tail) {
		t.Fatal("too small")
	}
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func TestParseAnnouncementRefuses(t *testing.T) {
	t.Parallel()
	aud := func(v any) map[string]any { return map[string]any{"audience": v} }
	for _, tc := range []struct {
		name   string
		edit   map[string]any
		raw    string
		reason string // a part of the error text
	}{
		{name: "empty data", raw: " ", reason: "not a JSON object"},
		{name: "nothing at all", raw: "\x00", reason: "not a JSON object"},
		{name: "not JSON", raw: "{nope", reason: "syntax error"},
		{name: "array", raw: `[{"type":"a"}]`, reason: "not a JSON object"},
		{name: "null", raw: `null`, reason: "not a JSON object"},
		{name: "trailing data", raw: `{"type":"a","audience":{"all":true},"title":"T"} {}`, reason: "syntax error"},
		{name: "trailing brace", raw: `{"type":"a","audience":{"all":true},"title":"T"}}`, reason: "syntax error"},
		{name: "over 64 KiB", raw: padded(t, MaxDataBytes+1), reason: "over the 65536 byte limit"},
		{name: "title of the wrong type", edit: map[string]any{"title": 5}, reason: "title must be a string"},
		{name: "title key case", raw: `{"type":"a","audience":{"all":true},"Title":"T"}`, reason: "title is required"},
		{name: "type key case", raw: `{"TYPE":"a","audience":{"all":true},"title":"T"}`, reason: "type is required"},
		{name: "audience key case", raw: `{"type":"a","Audience":{"all":true},"title":"T"}`, reason: "audience is required"},

		{name: "send_at not RFC 3339", edit: map[string]any{"send_at": "tomorrow 8:00"}, reason: "send_at must be an RFC 3339 time"},
		{name: "schedule_key without send_at", edit: map[string]any{"schedule_key": "k"}, reason: "schedule_key needs send_at"},
		{name: "schedule_key with a space", edit: map[string]any{"send_at": "2026-12-01T07:00:00Z", "schedule_key": "a b"}, reason: "schedule_key must be"},
		{name: "schedule_key too long", edit: map[string]any{"send_at": "2026-12-01T07:00:00Z", "schedule_key": strings.Repeat("k", 129)}, reason: "schedule_key must be"},
		{name: "cancel is no announcement type", edit: map[string]any{"type": "cancel"}, reason: "reserved"},
		{name: "mandatory info", edit: map[string]any{"mandatory": true, "severity": "info"}, reason: "mandatory is only allowed with severity warning or error"},
		{name: "mandatory by default severity", raw: `{"type":"a","audience":{"all":true},"title":"T","mandatory":true}`, reason: "mandatory is only allowed"},
		{name: "mandatory success", edit: map[string]any{"mandatory": true, "severity": "success"}, reason: "mandatory is only allowed"},
		{name: "mandatory not a bool", edit: map[string]any{"mandatory": "yes"}, reason: "mandatory must be true or false"},
		{name: "no type", edit: map[string]any{"type": nil}, reason: "type is required"},
		{name: "empty type", edit: map[string]any{"type": ""}, reason: "type is required"},
		{name: "type uppercase", edit: map[string]any{"type": "Announcement"}, reason: "type must match"},
		{name: "type starts with a digit", edit: map[string]any{"type": "1a"}, reason: "type must match"},
		{name: "type starts with underscore", edit: map[string]any{"type": "_a"}, reason: "type must match"},
		{name: "type with a dash", edit: map[string]any{"type": "grade-posted"}, reason: "type must match"},
		{name: "type with a newline", edit: map[string]any{"type": "a\nb"}, reason: "type must match"},
		{name: "type of 41", edit: map[string]any{"type": strings.Repeat("a", 41)}, reason: "type must match"},
		{name: "reserved reset", edit: map[string]any{"type": "reset"}, reason: `type "reset" is reserved`},
		{name: "reserved read", edit: map[string]any{"type": "read"}, reason: `type "read" is reserved`},
		{name: "reserved video_complete", edit: map[string]any{"type": "video_complete"}, reason: "reserved"},
		{name: "reserved video_failed", edit: map[string]any{"type": "video_failed"}, reason: "reserved"},
		{name: "reserved summary", edit: map[string]any{"type": "summary"}, reason: "reserved"},

		{name: "unknown severity", edit: map[string]any{"severity": "critical"}, reason: "severity must be"},
		{name: "severity case", edit: map[string]any{"severity": "Info"}, reason: "severity must be"},

		{name: "no audience", edit: map[string]any{"audience": nil}, reason: "audience is required"},
		{name: "null audience", raw: `{"type":"a","audience":null,"title":"T"}`, reason: "audience is required"},
		{name: "audience a string", edit: aud("all"), reason: "audience must be an object"},
		{name: "empty audience", edit: aud(map[string]any{}), reason: "exactly one"},
		{name: "two audiences", edit: aud(map[string]any{"users": []string{"u"}, "all": true}), reason: "exactly one of users, groups, all (it holds 2)"},
		{name: "users and groups", edit: aud(map[string]any{"users": []string{"u"}, "groups": []string{"g"}}), reason: "exactly one"},
		{name: "unknown audience kind", edit: aud(map[string]any{"roles": []string{"teacher"}}), reason: "unknown key"},
		{name: "known and unknown kind", edit: aud(map[string]any{"users": []string{"u"}, "roles": []string{"teacher"}}), reason: "unknown key"},
		{name: "audience kind case", edit: aud(map[string]any{"Users": []string{"u"}}), reason: "unknown key"},
		{name: "all false", edit: aud(map[string]any{"all": false}), reason: "audience.all must be true"},
		{name: "all a string", edit: aud(map[string]any{"all": "true"}), reason: "audience.all must be true"},
		{name: "all null", edit: aud(map[string]any{"all": nil}), reason: "audience.all must be true"},
		{name: "empty users", edit: aud(map[string]any{"users": []string{}}), reason: "audience.users must list 1-1000 ids (it lists 0)"},
		{name: "null users", edit: aud(map[string]any{"users": nil}), reason: "audience.users must list 1-1000 ids"},
		{name: "1001 users", edit: aud(map[string]any{"users": ids("u", 1001)}), reason: "(it lists 1001)"},
		{name: "users not strings", edit: aud(map[string]any{"users": []int{1}}), reason: "array of strings"},
		{name: "users a string", edit: aud(map[string]any{"users": "u-1"}), reason: "array of strings"},
		{name: "bad user id: colon", edit: aud(map[string]any{"users": []string{"u-1", "u:2"}}), reason: "audience.users[1] is not a valid id"},
		{name: "bad user id: star", edit: aud(map[string]any{"users": []string{"*"}}), reason: "audience.users[0] is not a valid id"},
		{name: "bad user id: empty", edit: aud(map[string]any{"users": []string{""}}), reason: "not a valid id"},
		{name: "bad user id: brace", edit: aud(map[string]any{"users": []string{"{u}"}}), reason: "not a valid id"},
		{name: "bad user id: group mark", edit: aud(map[string]any{"users": []string{"@class"}}), reason: "not a valid id"},
		{name: "bad user id: broadcast name", edit: aud(map[string]any{"users": []string{"!all"}}), reason: "not a valid id"},
		{name: "bad user id: 129 chars", edit: aud(map[string]any{"users": []string{strings.Repeat("u", 129)}}), reason: "not a valid id"},
		{name: "bad user id: unicode", edit: aud(map[string]any{"users": []string{"ü"}}), reason: "not a valid id"},
		{name: "empty groups", edit: aud(map[string]any{"groups": []string{}}), reason: "audience.groups must list 1-100 ids"},
		{name: "101 groups", edit: aud(map[string]any{"groups": ids("g", 101)}), reason: "(it lists 101)"},
		{name: "bad group id", edit: aud(map[string]any{"groups": []string{"class 7b"}}), reason: "audience.groups[0] is not a valid id"},

		{name: "no title", edit: map[string]any{"title": nil}, reason: "title is required"},
		{name: "empty title", edit: map[string]any{"title": ""}, reason: "title is required"},
		{name: "blank title", edit: map[string]any{"title": " \r\n\t "}, reason: "title is required"},

		{name: "http link", edit: map[string]any{"link": "http://status.example/m/1"}, reason: "link must be an absolute https URL"},
		{name: "javascript link", edit: map[string]any{"link": "javascript:alert(1)"}, reason: "link must be"},
		{name: "relative link", edit: map[string]any{"link": "/m/1"}, reason: "link must be"},
		{name: "link with credentials", edit: map[string]any{"link": "https://a:b@status.example/"}, reason: "link must be"},
		{name: "link with a newline inside", edit: map[string]any{"link": "https://status.example/\n1"}, reason: "link must be"},
		{name: "link too long", edit: map[string]any{"link": "https://status.example/" + strings.Repeat("x", MaxURLLen)}, reason: "link must be"},

		{name: "expires_at not a time", edit: map[string]any{"expires_at": "tomorrow"}, reason: "expires_at must be an RFC 3339 time"},
		{name: "expires_at without zone", edit: map[string]any{"expires_at": "2026-12-02T06:00:00"}, reason: "expires_at must be"},
		{name: "expires_at a number", edit: map[string]any{"expires_at": 1764655200}, reason: "expires_at must be a string"},
		{name: "severity a number", edit: map[string]any{"severity": 1}, reason: "severity must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tc.raw)
			if tc.raw == "" && tc.edit != nil {
				data = announcementJSON(t, tc.edit)
			}
			a, _, err := ParseAnnouncement(data)
			if err == nil {
				t.Fatalf("accepted: %+v", a)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.reason) || !strings.HasPrefix(err.Error(), "invalid announcement: ") {
				t.Errorf("error %q, want it to say %q", err, tc.reason)
			}
			// The reason names the field and the rule, never the value.
			for _, v := range []string{"u:2", "critical", "status.example", "tomorrow", "teacher", "class 7b", "Announcement", "grade-posted", "nope"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q echoes the input %q", err, v)
				}
			}
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

// TestMandatoryReachesTheNotification: the stored JSON (SSE data, push plaintext) says
// "mandatory":true when it is, and leaves the field out otherwise.
func TestMandatoryReachesTheNotification(t *testing.T) {
	t.Parallel()
	for _, mandatory := range []bool{true, false} {
		a, _, err := ParseAnnouncement(fmt.Appendf(nil, `{"type":"exam_moved","severity":"warning","mandatory":%v,"audience":{"all":true},"title":"T"}`, mandatory))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := a.Notification(time.Now()).Body()
		e, err := ParseEnvelope(WithID("1-0", body))
		if err != nil || e.Mandatory != mandatory || strings.Contains(string(body), "mandatory") != mandatory {
			t.Errorf("mandatory %v: body %s, envelope %+v, %v", mandatory, body, e.Mandatory, err)
		}
	}
}

func TestParseCancel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		key      string
		isCancel bool
		refused  bool
	}{
		{`{"type":"cancel","schedule_key":"deadline:42"}`, "deadline:42", true, false},
		{`{"type":"cancel"}`, "", true, true},
		{`{"type":"cancel","schedule_key":"a b"}`, "", true, true},
		{`{"type":"announcement","schedule_key":"k"}`, "", false, false},
		{`not json`, "", false, false},
	} {
		key, isCancel, err := ParseCancel([]byte(tc.in))
		if key != tc.key || isCancel != tc.isCancel || (err != nil) != tc.refused || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCancel(%s) = %q, %v, %v", tc.in, key, isCancel, err)
		}
	}
}
