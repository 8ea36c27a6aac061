package notification

import (
	"errors"
	"strings"
	"testing"
)

func validJob() Job {
	return Job{RequestID: "r-1", UserID: "u-1", Status: StatusCompleted, VideoURL: "https://cdn.example/v.mp4", Title: "T"}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*Job)
		ok     bool
	}{
		{"valid completed", func(*Job) {}, true},
		{"valid failed", func(j *Job) { j.Status, j.VideoURL, j.Error = StatusFailed, "", "it broke" }, true},
		{"failed without error text", func(j *Job) { j.Status, j.VideoURL = StatusFailed, "" }, true},
		{"uuid user", func(j *Job) { j.UserID = "6f1c2a8e-3b7d-4e0f-9c1a-5d2e8b7f4a31" }, true},
		{"max user id", func(j *Job) { j.UserID = strings.Repeat("a", MaxUserIDLen) }, true},
		{"empty user", func(j *Job) { j.UserID = "" }, false},
		{"long user", func(j *Job) { j.UserID = strings.Repeat("a", MaxUserIDLen+1) }, false},
		{"user star", func(j *Job) { j.UserID = "u*" }, false},
		{"user colon", func(j *Job) { j.UserID = "u:1" }, false},
		{"user brace", func(j *Job) { j.UserID = "{u}" }, false},
		{"user space", func(j *Job) { j.UserID = "u 1" }, false},
		{"user newline", func(j *Job) { j.UserID = "u\n1" }, false},
		{"user nul", func(j *Job) { j.UserID = "u\x001" }, false},
		{"user unicode", func(j *Job) { j.UserID = "ü" }, false},
		{"unknown status", func(j *Job) { j.Status = "running" }, false},
		{"empty status", func(j *Job) { j.Status = "" }, false},
		{"status case", func(j *Job) { j.Status = "Completed" }, false},
		// Display fields are cleaned (Clean), never a reason to refuse: the student must
		// still learn the outcome. Each of these was refused before.
		{"no request id", func(j *Job) { j.RequestID = "" }, true},
		{"long request id", func(j *Job) { j.RequestID = strings.Repeat("r", MaxRequestIDLen+1) }, true},
		{"request id CR", func(j *Job) { j.RequestID = "r\r1" }, true},
		{"completed without url", func(j *Job) { j.VideoURL = "" }, true},
		{"http url", func(j *Job) { j.VideoURL = "http://cdn.example/v.mp4" }, true},
		{"javascript url", func(j *Job) { j.VideoURL = "javascript:alert(1)" }, true},
		{"relative url", func(j *Job) { j.VideoURL = "/v.mp4" }, true},
		{"url with credentials", func(j *Job) { j.VideoURL = "https://a:b@cdn.example/v" }, true},
		{"url with newline", func(j *Job) { j.VideoURL = "https://cdn.example/v\n.mp4" }, true},
		{"url too long", func(j *Job) { j.VideoURL = "https://cdn.example/" + strings.Repeat("v", MaxURLLen) }, true},
		{"title newline", func(j *Job) { j.Title = "a\nb" }, true},
		{"title line separator", func(j *Job) { j.Title = "a\u2028b" }, true},
		{"title bad utf8", func(j *Job) { j.Title = "a\xffb" }, true},
		{"title too long", func(j *Job) { j.Title = strings.Repeat("t", MaxTitleLen+1) }, true},
		{"error too long", func(j *Job) { j.Status, j.Error = StatusFailed, strings.Repeat("e", MaxErrorLen+1) }, true},
		{"error with tab", func(j *Job) { j.Status, j.Error = StatusFailed, "a\tb" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := validJob()
			tc.mutate(&j)
			err := j.Validate()
			if tc.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
		})
	}
}
