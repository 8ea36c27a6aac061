package notification

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a job event. User IDs become part of Redis names, hence the strict charset.
const (
	MaxDataBytes    = 64 << 10
	MaxUserIDLen    = 128
	MaxRequestIDLen = 128
	MaxTitleLen     = 300
	MaxErrorLen     = 500
	MaxURLLen       = 2048
	MaxMessageIDLen = 256
)

// Status values of a finished job.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// ErrInvalid marks input that can never succeed (a permanent error): the function
// acknowledges it instead of letting Pub/Sub retry it.
var ErrInvalid = errors.New("invalid job event")

// invalid wraps ErrInvalid with a reason that names the field, never its value's bulk.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Job is the decoded message.data of a "content job finished" event.
type Job struct {
	RequestID string `json:"request_id"`
	UserID    string `json:"user_id"`
	Status    string `json:"status"`
	VideoURL  string `json:"video_url"`
	Title     string `json:"title"`
	Error     string `json:"error"`
}

// ValidUserID reports whether id is 1–128 characters of [A-Za-z0-9_-].
func ValidUserID(id string) bool {
	if len(id) == 0 || len(id) > MaxUserIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks every field of j as DESIGN.md specifies.
func (j Job) Validate() error {
	if !ValidUserID(j.UserID) {
		return invalid("user_id must be 1-%d characters of [A-Za-z0-9_-]", MaxUserIDLen)
	}
	if err := checkText("request_id", j.RequestID, MaxRequestIDLen, true); err != nil {
		return err
	}
	if err := checkText("title", j.Title, MaxTitleLen, false); err != nil {
		return err
	}
	switch j.Status {
	case StatusCompleted:
		if j.VideoURL == "" {
			return invalid("video_url is required when status is completed")
		}
		if err := checkURL(j.VideoURL); err != nil {
			return err
		}
	case StatusFailed:
		if err := checkText("error", j.Error, MaxErrorLen, false); err != nil {
			return err
		}
	default:
		return invalid("status must be %q or %q", StatusCompleted, StatusFailed)
	}
	return nil
}

// checkText rejects text that could not be shown to a user as one line: invalid UTF-8
// and control characters (JSON would escape them, but a user-safe text has none).
func checkText(field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return invalid("%s is required", field)
		}
		return nil
	}
	if len(s) > max {
		return invalid("%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return invalid("%s contains a control character", field)
		}
	}
	return nil
}

func checkURL(s string) error {
	if err := checkText("video_url", s, MaxURLLen, true); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || strings.ContainsAny(s, " \\") {
		return invalid("video_url must be an absolute https URL")
	}
	if u.Scheme != "https" {
		return invalid("video_url must be an absolute https URL")
	}
	return nil
}

// Notification makes the notification for a valid job, created at now.
func (j Job) Notification(now time.Time) Notification {
	n := Notification{RequestID: j.RequestID, Title: j.Title, CreatedAt: Timestamp{now.UTC().Truncate(time.Millisecond)}}
	if j.Status == StatusCompleted {
		n.Type, n.VideoURL = VideoComplete, j.VideoURL
	} else {
		n.Type, n.Error = VideoFailed, j.Error
	}
	return n
}
