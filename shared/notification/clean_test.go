package notification

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// stackTrace is a failure text as pipelines produce it: CRLF line ends, tab indents,
// about 10 KB.
var stackTrace = strings.Repeat("Traceback (most recent call last):\r\n\tFile \"render.py\", line 42, in <module>\r\n\t\traise TimeoutError('narration')\r\n", 100)

func TestCleanText(t *testing.T) {
	t.Parallel()
	a := strings.Repeat
	for _, tc := range []struct {
		name  string
		in    string
		limit int
		want  string
		fix   Fix
	}{
		{"plain", "Photosynthesis", MaxTitleLen, "Photosynthesis", 0},
		{"unicode kept", "Photosynthèse 🌱 e\u0301 ﷽ \ufffd", MaxTitleLen, "Photosynthèse 🌱 e\u0301 ﷽ \ufffd", 0},
		{"newline", "Photosynthesis\nPart 2", MaxTitleLen, "Photosynthesis Part 2", FixControl},
		{"trailing newline", "Photosynthesis\n", MaxTitleLen, "Photosynthesis", FixControl},
		{"CRLF is one space", "a\r\nb", MaxTitleLen, "a b", FixControl},
		{"every control", "a\tb\x00c\x1bd\x7fe\u0085f\u009fg\u2028h\u2029i\vj\fk", MaxTitleLen, "a b c d e f g h i j k", FixControl},
		{"only controls", "\r\n\t", MaxTitleLen, "", FixControl},
		{"spaces kept inside, trimmed around", "  a  b  ", MaxTitleLen, "a  b", 0},
		{"invalid utf8", "a\xffb\xc3", MaxTitleLen, "a\ufffdb\ufffd", FixInvalidUTF8},
		{"invalid and control", "\xfe\n", MaxTitleLen, "\ufffd", FixInvalidUTF8 | FixControl},
		{"exactly the limit", a("t", MaxTitleLen), MaxTitleLen, a("t", MaxTitleLen), 0},
		{"301 ascii", a("t", MaxTitleLen+1), MaxTitleLen, a("t", MaxTitleLen-1) + "…", FixTruncated},
		{"300 two-byte runes fit", a("é", MaxTitleLen), MaxTitleLen, a("é", MaxTitleLen), 0},
		{"301 two-byte runes", a("é", MaxTitleLen+1), MaxTitleLen, a("é", MaxTitleLen-1) + "…", FixTruncated},
		{"301 four-byte runes", a("😀", MaxTitleLen+1), MaxTitleLen, a("😀", MaxTitleLen-1) + "…", FixTruncated},
		{"three-byte rune at the cut", a("t", 298) + "光合作用", MaxTitleLen, a("t", 298) + "光…", FixTruncated},
		{"combining mark at the cut", a("a", 298) + "e\u0301xyz", MaxTitleLen, a("a", 298) + "…", FixTruncated},
		{"zwj family at the cut", a("a", 297) + "👩\u200d👩\u200d👧b", MaxTitleLen, a("a", 297) + "…", FixTruncated},
		{"skin tone at the cut", a("a", 298) + "👍🏽b", MaxTitleLen, a("a", 298) + "…", FixTruncated},
		{"flag split at the cut", a("a", 298) + "🇫🇷b", MaxTitleLen, a("a", 298) + "…", FixTruncated},
		{"flags paired before the cut", a("a", 297) + "🇫🇷🇩🇪b", MaxTitleLen, a("a", 297) + "🇫🇷…", FixTruncated},
		{"zalgo: the limit wins", "a" + a("\u0301", 400), MaxTitleLen, "a" + a("\u0301", 298) + "…", FixTruncated},
		{"space at the cut", a("a", 298) + "  bcd", MaxTitleLen, a("a", 298) + "…", FixTruncated},
		{"newlines then cut", a("a\n", 200), MaxTitleLen, strings.TrimSpace(a("a ", 150)) + "…", FixControl | FixTruncated},
		{"limit 1", "ab", 1, "…", FixTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, fix := cleanText(tc.in, tc.limit)
			if got != tc.want || fix != tc.fix {
				t.Errorf("cleanText = %q [%v], want %q [%v]", got, fix, tc.want, tc.fix)
			}
			checkText(t, got, tc.limit)
		})
	}
}

func TestCleanStackTrace(t *testing.T) {
	t.Parallel()
	if len(stackTrace) < 10000 {
		t.Fatalf("stack trace is %d bytes, want ~10 KB", len(stackTrace))
	}
	j, c := Job{RequestID: "r", UserID: "u", Status: StatusFailed, Error: stackTrace}.Clean()
	if c.Error != FixControl|FixTruncated || !strings.HasPrefix(j.Error, "Traceback (most recent call last): File \"render.py\"") || !strings.HasSuffix(j.Error, "…") {
		t.Errorf("error cleaned to %q [%v]", j.Error, c.Error)
	}
	checkText(t, j.Error, MaxErrorLen)
}

func TestCleanURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		fix            Fix
	}{
		{"https", "https://cdn.example/v/r-1.mp4?sig=a&x=1", "https://cdn.example/v/r-1.mp4?sig=a&x=1", 0},
		{"scheme case", "HTTPS://cdn.example/v.mp4", "HTTPS://cdn.example/v.mp4", 0},
		{"port and unicode path", "https://cdn.example:8443/vidéo.mp4", "https://cdn.example:8443/vidéo.mp4", 0},
		{"surrounding whitespace", " https://cdn.example/v.mp4\r\n", "https://cdn.example/v.mp4", FixTrimmed},
		{"missing", "", "", FixMissing},
		{"blank", " \n", "", FixTrimmed | FixMissing},
		{"http", "http://cdn.example/v.mp4", "", FixBadURL},
		{"javascript", "javascript:alert(1)", "", FixBadURL},
		{"javascript disguised", "javascript://cdn.example/%0aalert(1)", "", FixBadURL},
		{"data", "data:text/html,<script>alert(1)</script>", "", FixBadURL},
		{"relative", "/v/r-1.mp4", "", FixBadURL},
		{"scheme relative", "//cdn.example/v.mp4", "", FixBadURL},
		{"opaque", "https:cdn.example/v.mp4", "", FixBadURL},
		{"no host", "https:///v.mp4", "", FixBadURL},
		{"port only", "https://:443/v.mp4", "", FixBadURL},
		{"credentials", "https://a:b@cdn.example/v", "", FixBadURL},
		{"inner newline", "https://cdn.example/v\n.mp4", "", FixBadURL},
		{"line separator", "https://cdn.example/v\u2028.mp4", "", FixBadURL},
		{"space", "https://cdn.example/a b.mp4", "", FixBadURL},
		{"backslash", "https://cdn.example\\@evil.example/", "", FixBadURL},
		{"invalid utf8", "https://cdn.example/\xff", "", FixBadURL},
		{"too long", "https://cdn.example/" + strings.Repeat("v", MaxURLLen), "", FixBadURL},
		{"unparsable", "https://cdn.example/%zz", "", FixBadURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j, c := Job{RequestID: "r", UserID: "u", Status: StatusCompleted, VideoURL: tc.in}.Clean()
			if j.VideoURL != tc.want || c.VideoURL != tc.fix {
				t.Errorf("video_url %q cleaned to %q [%v], want %q [%v]", tc.in, j.VideoURL, c.VideoURL, tc.want, tc.fix)
			}
			if dropped := tc.want == ""; c.LinkDropped() != dropped {
				t.Errorf("LinkDropped = %v, want %v", c.LinkDropped(), dropped)
			}
			n := Job{RequestID: "r", UserID: "u", Status: StatusCompleted, VideoURL: tc.in}.Notification(created)
			if n.Type != VideoComplete || n.VideoURL != tc.want {
				t.Errorf("notification %+v, want video_complete with video_url %q", n, tc.want)
			}
		})
	}
}

func TestCleanJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      Job
		want    Job
		cleaned Cleaned
	}{
		{"clean completed job unchanged",
			Job{RequestID: "r-1", UserID: "u", Status: StatusCompleted, VideoURL: "https://c.example/v", Title: "T"},
			Job{RequestID: "r-1", UserID: "u", Status: StatusCompleted, VideoURL: "https://c.example/v", Title: "T"},
			Cleaned{}},
		{"completed drops error text",
			Job{RequestID: "r-1", UserID: "u", Status: StatusCompleted, VideoURL: "https://c.example/v", Error: "x\n"},
			Job{RequestID: "r-1", UserID: "u", Status: StatusCompleted, VideoURL: "https://c.example/v"},
			Cleaned{}},
		{"failed drops video_url",
			Job{RequestID: "r-1", UserID: "u", Status: StatusFailed, VideoURL: "javascript:x", Error: "boom\r\n"},
			Job{RequestID: "r-1", UserID: "u", Status: StatusFailed, Error: "boom"},
			Cleaned{Error: FixControl}},
		{"everything at once",
			Job{RequestID: "r\r1", UserID: "u", Status: StatusCompleted, VideoURL: "http://c.example/v", Title: "a\nb\xff"},
			Job{RequestID: "r 1", UserID: "u", Status: StatusCompleted, Title: "a b\ufffd"},
			Cleaned{RequestID: FixControl, Title: FixControl | FixInvalidUTF8, VideoURL: FixBadURL}},
		{"missing request id and url",
			Job{UserID: "u", Status: StatusCompleted},
			Job{UserID: "u", Status: StatusCompleted},
			Cleaned{RequestID: FixMissing, VideoURL: FixMissing}},
		{"long request id",
			Job{RequestID: strings.Repeat("r", MaxRequestIDLen+1), UserID: "u", Status: StatusFailed},
			Job{RequestID: strings.Repeat("r", MaxRequestIDLen-1) + "…", UserID: "u", Status: StatusFailed},
			Cleaned{RequestID: FixTruncated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, cleaned := tc.in.Clean()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Clean (-want +got):\n%s", diff)
			}
			if cleaned != tc.cleaned {
				t.Errorf("Cleaned = %+v, want %+v", cleaned, tc.cleaned)
			}
			if cleaned.Any() != (tc.cleaned != Cleaned{}) {
				t.Errorf("Any = %v", cleaned.Any())
			}
		})
	}
}

func TestCleanedLogValue(t *testing.T) {
	t.Parallel()
	c := Cleaned{Title: FixControl | FixTruncated, VideoURL: FixTrimmed | FixBadURL}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Warn("x", "cleaned", c)
	var line struct{ Cleaned map[string]string }
	if err := json.Unmarshal([]byte(b.String()), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"title": "control,truncated", "video_url": "trimmed,bad_url"}
	if diff := cmp.Diff(want, line.Cleaned); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := (FixControl | FixInvalidUTF8 | FixTruncated | FixTrimmed | FixMissing | FixBadURL).String(); got != "control,invalid_utf8,truncated,trimmed,missing,bad_url" {
		t.Errorf("String = %q", got)
	}
}

// checkText asserts what every cleaned text guarantees.
func checkText(t *testing.T, s string, limit int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%q is not valid UTF-8", s)
	}
	if n := utf8.RuneCountInString(s); n > limit {
		t.Errorf("%d runes, over the limit %d", n, limit)
	}
	for _, r := range s {
		if isControl(r) {
			t.Errorf("%q holds control character %U", s, r)
		}
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		t.Errorf("%q is not trimmed", s)
	}
}
