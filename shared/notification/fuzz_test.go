package notification

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzClean checks the promises of Job.Clean for any job: every field it keeps is valid
// UTF-8 without control characters, within its limit; a kept video_url is an https
// link; cleaning is idempotent; and the notification encodes to one line of JSON.
func FuzzClean(f *testing.F) {
	f.Add("r-1", "Photosynthesis", "", "https://cdn.example/v.mp4", false)
	f.Add("r\r\n", "a\nb\u2028c\xff", "Traceback:\r\n\tat x", "javascript:alert(1)", true)
	f.Add("", strings.Repeat("é", MaxTitleLen+1), strings.Repeat("😀", MaxErrorLen+1), " https://c.example/v\n", false)
	f.Add("r", strings.Repeat("a", 297)+"👩\u200d👩\u200d👧🇫🇷e\u0301", "", "http://c.example", true)
	f.Fuzz(func(t *testing.T, requestID, title, errText, videoURL string, failed bool) {
		status := StatusCompleted
		if failed {
			status = StatusFailed
		}
		in := Job{RequestID: requestID, UserID: "u", Status: status, VideoURL: videoURL, Title: title, Error: errText}
		j, c := in.Clean()
		checkFuzzText(t, "request_id", j.RequestID, MaxRequestIDLen)
		checkFuzzText(t, "title", j.Title, MaxTitleLen)
		checkFuzzText(t, "error", j.Error, MaxErrorLen)
		if j.VideoURL != "" && (failed || !validVideoURL(j.VideoURL)) {
			t.Fatalf("kept video_url %q", j.VideoURL)
		}
		if failed && j.VideoURL != "" || !failed && j.Error != "" {
			t.Fatalf("kept a field status %s does not use: %+v", status, j)
		}
		if (j.VideoURL == "") != c.LinkDropped() && !failed {
			t.Fatalf("video_url %q but LinkDropped = %v", j.VideoURL, c.LinkDropped())
		}

		again, c2 := j.Clean()
		if again != j {
			t.Fatalf("not idempotent:\n once  %+v\n twice %+v", j, again)
		}
		for name, fix := range c2.All() {
			if fix != FixMissing {
				t.Fatalf("cleaning a cleaned job changed %s: %v", name, fix)
			}
		}

		body, err := in.Notification(created).Body()
		if err != nil {
			t.Fatal(err)
		}
		full := WithID("1-0", body)
		if bytes.ContainsAny(full, "\r\n\u2028\u2029") || !json.Valid(full) {
			t.Fatalf("notification JSON is not one valid line: %q", full)
		}
	})
}

// FuzzCleanText checks cleanText at any limit, small ones included, where cutting and
// the ellipsis dominate.
func FuzzCleanText(f *testing.F) {
	f.Add("a\r\nb", uint16(300))
	f.Add("e\u0301e\u0301e\u0301", uint16(2))
	f.Add("🇫🇷🇩🇪🇮🇹", uint16(4))
	f.Add(" \xff\x00 ", uint16(1))
	f.Fuzz(func(t *testing.T, s string, limit uint16) {
		n := int(limit%600) + 1
		got, fix := cleanText(s, n)
		checkFuzzText(t, "text", got, n)
		if (got != s) && fix == 0 && strings.Trim(s, " ") != got {
			t.Fatalf("changed %q to %q without reporting it", s, got)
		}
		if again, fix2 := cleanText(got, n); again != got || fix2 != 0 {
			t.Fatalf("not idempotent: %q → %q → %q [%v]", s, got, again, fix2)
		}
	})
}

func checkFuzzText(t *testing.T, field, s string, limit int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s %q is not valid UTF-8", field, s)
	}
	if n := utf8.RuneCountInString(s); n > limit {
		t.Fatalf("%s has %d runes, over %d", field, n, limit)
	}
	for _, r := range s {
		if isControl(r) {
			t.Fatalf("%s %q holds control character %U", field, s, r)
		}
	}
}

// FuzzTimestampRoundTrip: whatever time a Timestamp holds, its JSON parses back to the
// same time clamped to [MinTime, MaxTime] and cut to the millisecond, and encodes again
// to the same bytes.
func FuzzTimestampRoundTrip(f *testing.F) {
	f.Add(int64(253402318799), int64(0), int64(-5*3600))      // 9999-12-31T23:59:59-05:00
	f.Add(int64(-62167219201), int64(999_999_999), int64(0))  // just before year 0
	f.Add(int64(1764174645), int64(123_456_789), int64(3600)) // an ordinary time
	f.Fuzz(func(t *testing.T, sec, nsec, offset int64) {
		zone := time.FixedZone("z", int(offset%(26*3600)))
		in := time.Unix(sec, nsec).In(zone)
		b, err := json.Marshal(Timestamp{in})
		if err != nil {
			t.Fatalf("Marshal(%v): %v", in, err)
		}
		var back Timestamp
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Marshal(%v) = %s, which does not parse back: %v", in, b, err)
		}
		want := ClampTime(in)
		want = want.Add(-time.Duration(want.Nanosecond() % int(time.Millisecond)))
		if !back.Equal(want) {
			t.Fatalf("%s parsed back as %v, want %v", b, back.Time, want)
		}
		if again, _ := json.Marshal(back); string(again) != string(b) {
			t.Fatalf("re-encoded as %s, first %s", again, b)
		}
	})
}
