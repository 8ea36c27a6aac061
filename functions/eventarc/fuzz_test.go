package eventarc

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
)

// FuzzDecodePush checks that any body either decodes to a routable job (valid user_id
// and message ID, known status) whose display fields are cleaned and whose notification
// encodes to one line of JSON, or fails with notification.ErrInvalid — never panics,
// never passes a field that could break an SSE frame or a Redis name.
func FuzzDecodePush(f *testing.F) {
	f.Add(readTestdata(f, "push-body.json"), "x")
	f.Add(push(`{"request_id":"r","user_id":"u","status":"failed","error":"e"}`, ""), "")
	f.Add(push(`{"request_id":"r","user_id":"u","status":"completed","video_url":"https://a.b/c"}`, ""), "")
	f.Add([]byte(`{"message":{"data":"e30=","message_id":"1"}}`), "")
	f.Add(PushBody(readTestdata(f, "job-messy.json"), "m", time.Time{}), "")
	f.Add(push(`{"user_id":"u","status":"completed","video_url":"javascript:alert(1)","title":"a\u2028b\r\n"}`, ""), "")
	f.Fuzz(func(t *testing.T, body []byte, fallback string) {
		m, err := DecodePush(body, fallback)
		if err != nil {
			if !errors.Is(err, notification.ErrInvalid) {
				t.Fatalf("error %v does not wrap notification.ErrInvalid", err)
			}
			return
		}
		if !notification.ValidUserID(m.Job.UserID) || m.ID == "" {
			t.Fatalf("accepted invalid ids: %+v", m)
		}
		if m.Job.Validate() != nil {
			t.Fatalf("accepted an unroutable job: %+v", m.Job)
		}
		if again, _ := m.Job.Clean(); again != m.Job {
			t.Fatalf("job is not cleaned: %+v, cleaned %+v", m.Job, again)
		}
		b, err := m.Job.Notification(time.Unix(0, 0)).Body()
		if err != nil {
			t.Fatal(err)
		}
		full := notification.WithID("1-0", b)
		if bytes.ContainsAny(full, "\r\n\u2028\u2029") || !json.Valid(full) {
			t.Fatalf("notification JSON is not one valid line: %q", full)
		}
	})
}

// FuzzDisplayFieldsNeverRefused checks the other half of the rule: a job with a valid
// user_id and status is delivered whatever its display fields hold (within 64 KiB).
func FuzzDisplayFieldsNeverRefused(f *testing.F) {
	f.Add("r-1", "Photosynthesis", "", "https://cdn.example/v.mp4", false)
	f.Add("", "a\nb\xff", "Traceback:\r\n\tat x", "javascript:alert(1)", true)
	f.Fuzz(func(t *testing.T, requestID, title, errText, videoURL string, failed bool) {
		status := notification.StatusCompleted
		if failed {
			status = notification.StatusFailed
		}
		data, err := json.Marshal(notification.Job{RequestID: requestID, UserID: "u-1", Status: status, VideoURL: videoURL, Title: title, Error: errText})
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > notification.MaxDataBytes {
			t.Skip("over the size limit, refused by design")
		}
		if _, err := DecodePush(PushBody(data, "m-1", time.Time{}), ""); err != nil {
			t.Fatalf("refused a routable job for its display fields: %v", err)
		}
	})
}

func BenchmarkDecodePush(b *testing.B) {
	body := readTestdata(b, "push-body.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePush(body, ""); err != nil {
			b.Fatal(err)
		}
	}
}
