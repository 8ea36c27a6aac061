package eventarc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vividly-edu/notifications/shared/notification"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventFromHTTP parses a recorded HTTP request (headers, blank line, body) the way the
// Functions Framework does, through the CloudEvents HTTP binding.
func eventFromHTTP(t *testing.T, raw []byte) event.Event {
	t.Helper()
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	if !ok {
		t.Fatal("recorded request has no blank line")
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(head, "\n\n"...))))
	if _, err := tp.ReadLine(); err != nil { // request line
		t.Fatal(err)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bytes.TrimSpace(body)))
	req.Header = http.Header(hdr)
	e, err := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	return *e
}

var wantDelivery = Message{
	ID:          "12165864188103151",
	PublishTime: time.Date(2026, 11, 26, 16, 30, 45, 123000000, time.UTC),
	Job: notification.Job{
		RequestID: "0b9f5c1e-7d1a-4c53-9a55-2f1f0c6b9d10",
		UserID:    "6f1c2a8e-3b7d-4e0f-9c1a-5d2e8b7f4a31",
		Status:    notification.StatusCompleted,
		VideoURL:  "https://storage.googleapis.com/vividly-content-dev/videos/0b9f5c1e.mp4",
		Title:     "Photosynthesis in 3 minutes",
	},
}

func TestDecodeRealDeliveries(t *testing.T) {
	t.Parallel()
	binaryRaw := readTestdata(t, "binary-mode.http")
	structuredReq := "POST / HTTP/1.1\nContent-Type: application/cloudevents+json\n\n" + string(readTestdata(t, "structured-mode.json"))

	for name, get := range map[string]func(*testing.T) (Message, error){
		"binary mode":     func(t *testing.T) (Message, error) { return DecodeEvent(eventFromHTTP(t, binaryRaw)) },
		"structured mode": func(t *testing.T) (Message, error) { return DecodeEvent(eventFromHTTP(t, []byte(structuredReq))) },
		"push body":       func(t *testing.T) (Message, error) { return DecodePush(readTestdata(t, "push-body.json"), "") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := get(t)
			if err != nil {
				t.Fatal(err)
			}
			if !got.PublishTime.Equal(wantDelivery.PublishTime) || got.ID != wantDelivery.ID || got.Job != wantDelivery.Job {
				t.Errorf("got %+v, want %+v", got, wantDelivery)
			}
		})
	}
}

func TestDecodeJobFiles(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"job-completed.json", "job-failed.json"} {
		if _, cleaned, err := DecodeJob(readTestdata(t, name)); err != nil || cleaned.Any() {
			t.Errorf("%s: cleaned %+v, %v", name, cleaned, err)
		}
	}
}

// TestDecodeCleansDisplayFields: display fields are never a reason to refuse a job
// event (each of these was refused before); DecodePush cleans them and says what it did.
func TestDecodeCleansDisplayFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data string
		want       notification.Job
		cleaned    notification.Cleaned
	}{
		{"recorded messy job", string(readTestdata(t, "job-messy.json")),
			notification.Job{RequestID: "7e1d", UserID: "u-42", Status: notification.StatusFailed,
				Error: "Traceback (most recent call last):   File \"render.py\", line 42, in narrate TimeoutError: narration step took 301 s"},
			notification.Cleaned{Error: notification.FixControl}},
		{"newline title, http link", `{"request_id":"r","user_id":"u","status":"completed","video_url":"http://x.example/v","title":"A\nB"}`,
			notification.Job{RequestID: "r", UserID: "u", Status: notification.StatusCompleted, Title: "A B"},
			notification.Cleaned{Title: notification.FixControl, VideoURL: notification.FixBadURL}},
		{"no link, no request id", `{"user_id":"u","status":"completed","title":"T"}`,
			notification.Job{UserID: "u", Status: notification.StatusCompleted, Title: "T"},
			notification.Cleaned{RequestID: notification.FixMissing, VideoURL: notification.FixMissing}},
		{"escaped controls, long title", `{"request_id":"r\u0000","user_id":"u","status":"completed","video_url":"https://x.example/v","title":"` + strings.Repeat("t", 400) + `"}`,
			notification.Job{RequestID: "r", UserID: "u", Status: notification.StatusCompleted, VideoURL: "https://x.example/v", Title: strings.Repeat("t", notification.MaxTitleLen-1) + "…"},
			notification.Cleaned{RequestID: notification.FixControl, Title: notification.FixTruncated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := DecodePush(push(tc.data, ""), "")
			if err != nil {
				t.Fatalf("DecodePush = %v, want a cleaned job", err)
			}
			if m.Job != tc.want || m.Cleaned != tc.cleaned {
				t.Errorf("got %+v %+v\nwant %+v %+v", m.Job, m.Cleaned, tc.want, tc.cleaned)
			}
		})
	}
}

func push(data string, extra string) []byte {
	return []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(data)) + `","messageId":"m-1"` + extra + `}}`)
}

func TestDecodeIDFallbacks(t *testing.T) {
	t.Parallel()
	job := `{"request_id":"r","user_id":"u","status":"failed"}`
	data := base64.StdEncoding.EncodeToString([]byte(job))
	for _, tc := range []struct{ name, body, fallback, want string }{
		{"camel", `{"message":{"data":"` + data + `","messageId":"a","message_id":"b"}}`, "c", "a"},
		{"snake", `{"message":{"data":"` + data + `","message_id":"b"}}`, "c", "b"},
		{"cloudevent id", `{"message":{"data":"` + data + `"}}`, "c", "c"},
		{"snake publish time", `{"message":{"data":"` + data + `","publish_time":"2026-01-02T03:04:05Z"}}`, "c", "c"},
	} {
		got, err := DecodePush([]byte(tc.body), tc.fallback)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.ID != tc.want {
			t.Errorf("%s: id = %q, want %q", tc.name, got.ID, tc.want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	good := `{"request_id":"r","user_id":"u","status":"completed","video_url":"https://x.example/v"}`
	for _, tc := range []struct {
		name     string
		body     []byte
		fallback string
	}{
		{"empty body", nil, "x"},
		{"not json", []byte(`not json`), "x"},
		{"json array", []byte(`[]`), "x"},
		{"no message", []byte(`{"subscription":"s"}`), "x"},
		{"message not object", []byte(`{"message":"m"}`), "x"},
		{"bad base64", []byte(`{"message":{"data":"!!!","messageId":"m"}}`), "x"},
		{"data not string", []byte(`{"message":{"data":5,"messageId":"m"}}`), "x"},
		{"no data", []byte(`{"message":{"messageId":"m"}}`), "x"},
		{"no message id anywhere", []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(good)) + `"}}`), ""},
		{"message id with space", push(good, `,"messageId":"a b"`), ""},
		{"message id too long", []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(good)) + `","messageId":"` + strings.Repeat("9", notification.MaxMessageIDLen+1) + `"}}`), ""},
		{"bad publish time", push(good, `,"publishTime":"yesterday"`), ""},
		{"data not json", push(`hello`, ""), ""},
		{"data json array", push(`[1]`, ""), ""},
		{"data trailing garbage", push(good+`{}`, ""), ""},
		{"data wrong field type", push(`{"request_id":5,"user_id":"u","status":"failed"}`, ""), ""},
		{"data invalid job", push(`{"request_id":"r","user_id":"u:1","status":"failed"}`, ""), ""},
		{"data too big", push(`{"request_id":"r","user_id":"u","status":"failed","title":"`+strings.Repeat("t", notification.MaxDataBytes)+`"}`, ""), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodePush(tc.body, tc.fallback)
			if !errors.Is(err, notification.ErrInvalid) {
				t.Fatalf("DecodePush = %v, want notification.ErrInvalid", err)
			}
		})
	}
}

func TestDecodeEventRejectsOtherTypes(t *testing.T) {
	t.Parallel()
	e := event.New()
	e.SetID("1")
	e.SetType("google.cloud.storage.object.v1.finalized")
	e.SetSource("//storage")
	if _, err := DecodeEvent(e); !errors.Is(err, notification.ErrInvalid) {
		t.Fatalf("DecodeEvent = %v, want notification.ErrInvalid", err)
	}
}

// TestRejectionReasonsDoNotEchoInput guards the logs: a reason must not quote the
// untrusted payload (which may hold personal data or log-injection attempts).
func TestRejectionReasonsDoNotEchoInput(t *testing.T) {
	t.Parallel()
	secret := "SECRET-PAYLOAD\nFORGED LOG LINE"
	for _, body := range [][]byte{
		[]byte(`{"message":{"data":"` + secret + `"}}`),
		push(`{"request_id":"`+secret+`"}`, ""),
		push(secret, ""),
	} {
		_, err := DecodePush(body, "x")
		if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q echoes the input", err)
		}
	}
}
