package eventarc

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
)

// FuzzDecodePush checks that any body either decodes to a valid job whose notification
// encodes to one line of JSON, or fails with notification.ErrInvalid — never panics, never passes a
// field that could break an SSE frame or a Redis name.
func FuzzDecodePush(f *testing.F) {
	f.Add(readTestdata(f, "push-body.json"), "x")
	f.Add(push(`{"request_id":"r","user_id":"u","status":"failed","error":"e"}`, ""), "")
	f.Add(push(`{"request_id":"r","user_id":"u","status":"completed","video_url":"https://a.b/c"}`, ""), "")
	f.Add([]byte(`{"message":{"data":"e30=","message_id":"1"}}`), "")
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
		b, err := m.Job.Notification(time.Unix(0, 0)).Body()
		if err != nil {
			t.Fatal(err)
		}
		full := notification.WithID("1-0", b)
		if bytes.ContainsAny(full, "\r\n") || !json.Valid(full) {
			t.Fatalf("notification JSON is not one valid line: %q", full)
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
