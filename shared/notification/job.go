package notification

import (
	"errors"
	"fmt"
	"time"
)

// Limits on a job event. User IDs become part of Redis names, hence the strict charset.
// Text limits (request ID, title, error) count characters, i.e. Unicode code points
// (runes), not bytes: see Clean.
const (
	MaxDataBytes    = 64 << 10
	MaxUserIDLen    = 128
	MaxRequestIDLen = 128
	MaxTitleLen     = 300
	MaxErrorLen     = 500
	MaxURLLen       = 2048 // bytes; a longer video_url is dropped, not cut
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

// Validate reports whether j can be routed and understood: a valid user_id (it becomes
// part of Redis names) and a known status. These are the only fields a job is refused
// for. Display fields never are — the student must still learn the outcome — so
// request_id, title, error and video_url are not checked here; Clean makes them safe.
func (j Job) Validate() error {
	if !ValidUserID(j.UserID) {
		return invalid("user_id must be 1-%d characters of [A-Za-z0-9_-]", MaxUserIDLen)
	}
	if j.Status != StatusCompleted && j.Status != StatusFailed {
		return invalid("status must be %q or %q", StatusCompleted, StatusFailed)
	}
	return nil
}

// Notification makes the notification for a job that passed Validate, created at now.
// It shows only cleaned fields (it calls Clean, which is idempotent), so no caller can
// put a control character or an unsafe link into a notification by skipping Clean.
func (j Job) Notification(now time.Time) Notification {
	j, _ = j.Clean()
	n := Notification{RequestID: j.RequestID, Title: j.Title, CreatedAt: Timestamp{now.UTC().Truncate(time.Millisecond)}}
	if j.Status == StatusCompleted {
		n.Type, n.VideoURL = VideoComplete, j.VideoURL
	} else {
		n.Type, n.Error = VideoFailed, j.Error
	}
	return n
}
