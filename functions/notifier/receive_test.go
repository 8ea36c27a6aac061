package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

// pushJSON is a Pub/Sub push body (the data of an Eventarc CloudEvent) carrying job.
func pushJSON(job, messageID string) string {
	return string(eventarc.PushBody([]byte(job), messageID, now))
}

func binaryRequest(id, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Ce-Id", id)
	r.Header.Set("Ce-Specversion", "1.0")
	r.Header.Set("Ce-Type", eventarc.EventType)
	r.Header.Set("Ce-Source", "//pubsub.googleapis.com/projects/p/topics/t")
	return r
}

func structuredRequest(t *testing.T, id, data string) *http.Request {
	t.Helper()
	b, err := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "type": eventarc.EventType,
		"source": "//pubsub.googleapis.com/projects/p/topics/t", "datacontenttype": "application/json",
		"data": json.RawMessage(data)})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	return r
}

func plainRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestServeHTTP(t *testing.T) {
	t.Parallel()
	job := func(user string) string {
		return `{"request_id":"r-1","user_id":"` + user + `","status":"completed","video_url":"https://cdn.example/v.mp4","title":"T"}`
	}
	for _, tc := range []struct {
		name     string
		req      func(t *testing.T) *http.Request
		status   int
		stored   int    // notifications stored for u-42
		rejected string // the reason counted as refused, if any
		logged   string // a log line's message, if one is expected
	}{
		{"binary mode", func(*testing.T) *http.Request { return binaryRequest("m-1", pushJSON(job("u-42"), "m-1")) },
			http.StatusOK, 1, "", ""},
		{"binary mode, message id only in ce-id", func(*testing.T) *http.Request { return binaryRequest("m-1", pushJSON(job("u-42"), "")) },
			http.StatusOK, 1, "", ""},
		{"structured mode", func(t *testing.T) *http.Request { return structuredRequest(t, "m-1", pushJSON(job("u-42"), "m-1")) },
			http.StatusOK, 1, "", ""},
		{"plain push body", func(*testing.T) *http.Request { return plainRequest(pushJSON(job("u-42"), "m-1")) },
			http.StatusOK, 1, "", ""},
		{"plain push body without a message id is refused", func(*testing.T) *http.Request { return plainRequest(pushJSON(job("u-42"), "")) },
			http.StatusOK, 0, "malformed", "job event rejected"},
		{"plain body that is not JSON is refused", func(*testing.T) *http.Request { return plainRequest("hello") },
			http.StatusOK, 0, "malformed", "job event rejected"},
		{"bad user id is refused", func(*testing.T) *http.Request { return binaryRequest("m-1", pushJSON(job("u:*"), "m-1")) },
			http.StatusOK, 0, "malformed", "job event rejected"},
		{"bad base64 is refused", func(*testing.T) *http.Request {
			return binaryRequest("m-1", `{"message":{"data":"!!!","messageId":"m-1"}}`)
		}, http.StatusOK, 0, "malformed", "job event rejected"},
		{"wrong event type is refused", func(*testing.T) *http.Request {
			r := binaryRequest("m-1", pushJSON(job("u-42"), "m-1"))
			r.Header.Set("Ce-Type", "google.cloud.storage.object.v1.finalized")
			return r
		}, http.StatusOK, 0, "malformed", "job event rejected"},
		{"body over the limit is refused unread", func(*testing.T) *http.Request {
			return binaryRequest("m-big", `{"message":{"data":"`+strings.Repeat("A", MaxBodyBytes)+`"}}`)
		}, http.StatusOK, 0, "malformed", "job event rejected"},
		{"CloudEvent without a source", func(*testing.T) *http.Request {
			r := binaryRequest("m-1", pushJSON(job("u-42"), "m-1"))
			r.Header.Del("Ce-Source")
			return r
		}, http.StatusBadRequest, 0, "", "request is not a valid CloudEvent"},
		{"unknown spec version", func(*testing.T) *http.Request {
			r := binaryRequest("m-1", pushJSON(job("u-42"), "m-1"))
			r.Header.Set("Ce-Specversion", "9.9")
			return r
		}, http.StatusUnsupportedMediaType, 0, "", ""},
		{"structured mode that is not JSON", func(*testing.T) *http.Request {
			r := plainRequest("{nope")
			r.Header.Set("Content-Type", "application/cloudevents+json")
			return r
		}, http.StatusBadRequest, 0, "", "request is not a valid CloudEvent"},
		{"GET", func(*testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) },
			http.StatusMethodNotAllowed, 0, "", ""},
		{"body cut off by the client", func(*testing.T) *http.Request {
			r := binaryRequest("m-1", "")
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"message":`), errReader{io.ErrUnexpectedEOF}))
			return r
		}, http.StatusBadRequest, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, tc.req(t))
			if w.Code != tc.status {
				t.Fatalf("status %d (%q), want %d", w.Code, w.Body.String(), tc.status)
			}
			got, _ := f.mem.Latest(context.Background(), "u-42", 10)
			if len(got) != tc.stored {
				t.Errorf("stored %d notifications, want %d", len(got), tc.stored)
			}
			if tc.rejected != "" {
				if v := testutil.ToFloat64(f.metrics.Rejected.WithLabelValues(tc.rejected)); v != 1 {
					t.Errorf("rejected{%s} = %v, want 1", tc.rejected, v)
				}
			}
			if tc.logged == "" && f.logs.Len() > 0 {
				t.Errorf("unexpected log lines: %s", f.logs)
			}
			if tc.logged != "" && !strings.Contains(f.logs.String(), `"msg":"`+tc.logged+`"`) {
				t.Errorf("log lacks %q: %s", tc.logged, f.logs)
			}
			if strings.Contains(f.logs.String(), "AAAAAAAA") {
				t.Error("log echoes the body")
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestServeHTTPRedisDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, failing{})
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, binaryRequest("m-1", pushJSON(completed, "m-1")))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 so Pub/Sub retries", w.Code)
	}
	if strings.Contains(w.Body.String(), "10.0.0.3") {
		t.Errorf("answer leaks the Redis error: %q", w.Body)
	}
}

// ctxPublisher records whether the context it was given was already cancelled.
type ctxPublisher struct {
	Publisher
	cancelled bool
}

func (p *ctxPublisher) Publish(ctx context.Context, userID, messageID string, n notification.Notification) (string, bool, error) {
	p.cancelled = ctx.Err() != nil
	return p.Publisher.Publish(ctx, userID, messageID, n)
}

// TestWriteOutlivesTheClient: a client that gives up (Pub/Sub's push deadline) while
// the write is under way does not abort it; its redelivery is then a duplicate.
func TestWriteOutlivesTheClient(t *testing.T) {
	t.Parallel()
	mem := newFixture(t, nil).mem
	p := &ctxPublisher{Publisher: mem}
	f := newFixture(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := binaryRequest("m-1", pushJSON(completed, "m-1")).WithContext(ctx)
	f.h.ServeHTTP(httptest.NewRecorder(), r)
	if p.cancelled {
		t.Fatal("the write ran on the client's cancelled context")
	}
	if got, _ := mem.Latest(context.Background(), "u-42", 10); len(got) != 1 {
		t.Fatalf("stored %d, want 1", len(got))
	}
}

// TestServeHTTPKeepsTrace: the lines a request writes carry its trace.
func TestServeHTTPKeepsTrace(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h, err := New(newFixture(t, nil).mem, logging.New(&logs, slog.LevelInfo, "p"), NewMetrics(prometheus.NewRegistry()), time.Now, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := binaryRequest("m-1", pushJSON(strings.Replace(completed, "u-42", "u:*", 1), "m-1"))
	r.Header.Set("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !strings.Contains(logs.String(), `"logging.googleapis.com/trace":"projects/p/traces/105445aa7843bc8bf206b12000100000"`) {
		t.Errorf("refusal log has no trace: %s", &logs)
	}
}

func TestIsCloudEvent(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"application/json": false, "": false, "text/plain": false,
		"application/cloudevents+json": true, "Application/CloudEvents+JSON; charset=utf-8": true,
		"application/cloudevents-batch+json": true,
	} {
		h := http.Header{"Content-Type": {ct}}
		if got := isCloudEvent(h); got != want {
			t.Errorf("%q: %v, want %v", ct, got, want)
		}
	}
	if !isCloudEvent(http.Header{"Ce-Id": {"1"}}) || !isCloudEvent(http.Header{"Ce-Specversion": {"1.0"}}) {
		t.Error("binary mode not recognised")
	}
}

func TestBounded(t *testing.T) {
	t.Parallel()
	if got := bounded(strings.Repeat("é", 300)); len(got) > 210 || !strings.HasSuffix(got, "…") {
		t.Errorf("bounded = %q", got)
	}
	if bounded("short") != "short" {
		t.Error("short text changed")
	}
}
