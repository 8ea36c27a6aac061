package notification

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

var created = time.Date(2026, 11, 26, 16, 30, 45, 123456789, time.UTC)

func TestNotificationGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		job  Job
	}{
		{"video_complete", Job{RequestID: "r-123", UserID: "u-42", Status: StatusCompleted, VideoURL: "https://cdn.example/v/r-123.mp4", Title: "Photosynthesis"}},
		{"video_failed", Job{RequestID: "r-124", UserID: "u-42", Status: StatusFailed, Error: "Rendering failed: the script was too long."}},
		{"escaping", Job{RequestID: "r-<125>", UserID: "u-42", Status: StatusCompleted, VideoURL: "https://cdn.example/v?a=1&b=2", Title: "Ünïcode \"quoted\" </script>"}},
		// What a pipeline may send: the notification is delivered, cleaned and without
		// the link.
		{"cleaned", Job{RequestID: "r-126", UserID: "u-42", Status: StatusCompleted, VideoURL: "javascript:alert(1)", Title: "Line one\r\n\tLine two\u2028</script>\xff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.job.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			body, err := tc.job.Notification(created).Body()
			if err != nil {
				t.Fatal(err)
			}
			full := WithID("1764174645123-0", body)
			golden(t, tc.name+".json", append(full, '\n'))

			env, err := ParseEnvelope(full)
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			var back Notification
			if err := json.Unmarshal(full, &back); err != nil {
				t.Fatal(err)
			}
			want := tc.job.Notification(created)
			want.ID = "1764174645123-0"
			if diff := cmp.Diff(want, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if env.ID != want.ID || env.Type != want.Type || !env.CreatedAt.Equal(want.CreatedAt.Time) {
				t.Errorf("envelope = %+v, want id %s type %s", env, want.ID, want.Type)
			}
		})
	}
}

// TestJSONIsOneLine: whatever a notification's fields or id hold, Body and WithID
// give one line of valid JSON — no raw CR, LF, U+2028 or U+2029 to split an SSE frame
// or a JavaScript string. Fields are set directly here, bypassing Clean.
func TestJSONIsOneLine(t *testing.T) {
	t.Parallel()
	nasty := "a\r\nb\x00c\u2028d\u2029e\u0085f\x7fg\xffh\"i\\j</script>"
	n := Notification{Type: VideoComplete, RequestID: nasty, VideoURL: nasty, Title: nasty, Error: nasty, CreatedAt: Timestamp{created}}
	body, err := n.Body()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1764174645123-0", "", nasty, "\"},\"type\":\"forged"} {
		full := WithID(id, body)
		if bytes.ContainsAny(full, "\r\n\u2028\u2029") || !json.Valid(full) {
			t.Fatalf("WithID(%q) = %q: not one line of valid JSON", id, full)
		}
		for _, c := range full {
			if c < 0x20 {
				t.Fatalf("WithID(%q) holds control byte %#x", id, c)
			}
		}
		var back Notification
		if err := json.Unmarshal(full, &back); err != nil || back.ID != strings.ToValidUTF8(id, "\ufffd") || back.Type != VideoComplete {
			t.Fatalf("WithID(%q) reads back as %+v, %v", id, back, err)
		}
	}
	if got := string(WithID("1-0", []byte("{}"))); got != `{"id":"1-0"}` {
		t.Errorf("WithID of an empty object = %s", got)
	}
}

func TestParseEnvelopeRejects(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not json":   `{`,
		"no id":      `{"type":"video_complete"}`,
		"no type":    `{"id":"1-0"}`,
		"bad time":   `{"id":"1-0","type":"video_complete","created_at":"yesterday"}`,
		"time type":  `{"id":"1-0","type":"video_complete","created_at":5}`,
		"wrong type": `{"id":1,"type":"video_complete"}`,
	} {
		if _, err := ParseEnvelope([]byte(in)); err == nil {
			t.Errorf("%s: ParseEnvelope(%s) succeeded", name, in)
		}
	}
}
