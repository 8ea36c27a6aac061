package eventarc

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPushBody(t *testing.T) {
	t.Parallel()
	job := readTestdata(t, "job-completed.json")
	at := time.Date(2026, 11, 26, 16, 30, 45, 123000000, time.FixedZone("CET", 3600))

	body := PushBody(job, "m-1", at)
	want := `{"message":{"data":"` + jsonBase64(t, job) + `","messageId":"m-1","publishTime":"2026-11-26T15:30:45.123Z"}}`
	if diff := cmp.Diff(want, string(body)); diff != "" {
		t.Errorf("PushBody (-want +got):\n%s", diff)
	}
	m, err := DecodePush(body, "ignored")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "m-1" || !m.PublishTime.Equal(at) || m.Job.UserID != "6f1c2a8e-3b7d-4e0f-9c1a-5d2e8b7f4a31" {
		t.Errorf("decoded %+v", m)
	}

	// Without a message ID or time, the CloudEvent ID (ce-id) is the message ID.
	bare := PushBody(job, "", time.Time{})
	if got := string(bare); got != `{"message":{"data":"`+jsonBase64(t, job)+`"}}` {
		t.Errorf("PushBody without id = %s", got)
	}
	if m, err := DecodePush(bare, "ce-7"); err != nil || m.ID != "ce-7" || !m.PublishTime.IsZero() {
		t.Errorf("DecodePush = %+v, %v", m, err)
	}
	if got := string(PushBody(nil, "m", time.Time{})); got != `{"message":{"data":"","messageId":"m"}}` {
		t.Errorf("PushBody(nil) = %s", got)
	}
}

func jsonBase64(t *testing.T, b []byte) string {
	t.Helper()
	s, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(s[1 : len(s)-1])
}
