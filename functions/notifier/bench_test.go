package notifier

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

// nopPublisher stores nothing: the benchmarks measure the function's own work.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, string, notification.Notification) (string, bool, error) {
	return "1764174645123-0", false, nil
}

// BenchmarkReceive measures one delivery through the HTTP handler, without the
// network or Redis: "binding" is ServeHTTP (what the function registers), "sdk-receiver"
// the Functions Framework's CloudEvent path it replaced (cloudevents/sdk-go's
// NewHTTPReceiveHandler around Handle: a goroutine, a channel hand-off and a reflect
// call per request). Both log as production does (JSON to a discarded writer, INFO).
func BenchmarkReceive(b *testing.B) {
	h, err := New(nopPublisher{}, logging.New(io.Discard, slog.LevelInfo, ""), NewMetrics(prometheus.NewRegistry()), time.Now, 0)
	if err != nil {
		b.Fatal(err)
	}
	p, err := cloudevents.NewHTTP()
	if err != nil {
		b.Fatal(err)
	}
	legacy, err := cloudevents.NewHTTPReceiveHandler(context.Background(), p, h.Handle)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(pushJSON(completed, "m-1"))
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"binding", h}, {"sdk-receiver", legacy}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			req := binaryRequest("m-1", "")
			for b.Loop() {
				req.Body = io.NopCloser(bytes.NewReader(body))
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
