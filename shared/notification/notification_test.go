package notification

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
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
