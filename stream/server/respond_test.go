package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// TestRespondMapsEveryErrorKind: each kind of error a handler returns gets its status,
// body, Retry-After, refusal count and log line — all from respond, the one mapping.
// The expectations are literal, so a kind mapped to another status, text, header or
// reason fails here.
func TestRespondMapsEveryErrorKind(t *testing.T) {
	const route = "POST /api/v1/notifications/read"
	invalid := fmt.Errorf("%w: ids must be log ids", broker.ErrInvalid)
	down := errors.New("dial tcp: connection refused")
	cases := []struct {
		name   string
		err    error
		status int
		body   string // the whole body, newline included
		retry  string // Retry-After; "" for none
		reason string // the sse_connection_errors_total label counted; "" for none
		step   string // the failure logged at ERROR; "" for no log line
	}{
		{"broker invalid input", failed("mark read", invalid), 400, `{"error":"invalid input: ids must be log ids"}`, "", "", ""},
		{"no before= on this broker", failed("history", errNoBefore), 400, `{"error":"before= is not supported by this broker"}`, "", "", ""},
		{"invalid push subscription", failed("push subscribe", fmt.Errorf("%w: endpoint must be https", webpush.ErrInvalidSubscription)),
			400, `{"error":"invalid push subscription: endpoint must be https"}`, "", "", ""},
		{"invalid device", failed("push device register", fcm.ErrInvalidDevice), 400, `{"error":"invalid push device"}`, "", "", ""},
		{"too many subscriptions", failed("push subscribe", webpush.ErrTooManySubscriptions), 409,
			`{"error":"at most 10 push subscriptions per user: remove one (DELETE) first"}`, "", "", ""},
		{"too many devices", failed("push device register", fcm.ErrTooManyDevices), 409,
			`{"error":"at most 10 push devices per user: remove one (DELETE) first"}`, "", "", ""},
		{"no group notification", redisbroker.ErrNoGroupNotification, 404, `{"error":"no such group notification"}`, "", "", ""},
		{"body over the limit", &http.MaxBytesError{Limit: maxBody}, 413, `{"error":"request body over 64 KiB"}`, "", "", ""},
		{"client's mistake", badRequest(badCursor), 400, `{"error":"after must be a next value from this endpoint or an SSE id"}`, "", "", ""},
		{"feature off", errPushOff, 404, `{"error":"push notifications are not enabled"}`, "", "", ""},
		{"refusal with a wait", errHistoryBusy, 429, `{"error":"too many history requests of this user at once"}`, "1", "history_busy", ""},
		{"refusal as an error", &apiError{status: 401, reason: "auth", msg: "token expires too soon for a ticket"}, 401,
			`{"error":"token expires too soon for a ticket"}`, "", "auth", ""},
		{"store down", failed("mark read", down), 503, `{"error":"temporarily unavailable"}`, "1", "broker", "mark read"},
		{"store timed out", failed("history", context.DeadlineExceeded), 503, `{"error":"temporarily unavailable"}`, "1", "broker", "history"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: NewMetrics(prometheus.NewRegistry())}
			w := httptest.NewRecorder()
			s.respond(context.Background(), w, route, "u-1", tc.err)

			if w.Code != tc.status || w.Body.String() != tc.body+"\n" {
				t.Errorf("answer %d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retry {
				t.Errorf("Retry-After %q, want %q", got, tc.retry)
			}
			if n := testutil.CollectAndCount(s.metrics.ConnErrors); tc.reason == "" && n != 0 {
				t.Errorf("counted a refusal (%d series) for a non-refusal", n)
			}
			if tc.reason != "" && testutil.ToFloat64(s.metrics.ConnErrors.WithLabelValues(tc.reason)) != 1 {
				t.Errorf("refusal not counted under %q", tc.reason)
			}
			line := logs.String()
			if tc.step == "" && line != "" {
				t.Errorf("logged %s", line)
			}
			if tc.step != "" {
				for _, want := range []string{`"level":"ERROR"`, `"msg":"request failed"`, `"route":"` + route + `"`,
					`"step":"` + tc.step + `"`, `"user_id":"u-1"`} {
					if !strings.Contains(line, want) {
						t.Errorf("log line %s lacks %s", line, want)
					}
				}
			}
		})
	}
}

// TestUnavailableNamesTheStream: the stream's open answers a failure as respond does,
// logged with the stream's route and the step.
func TestUnavailableNamesTheStream(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: NewMetrics(prometheus.NewRegistry())}
	w := httptest.NewRecorder()
	s.unavailable(context.Background(), w, "u-1", "presence", errors.New("redis down"))
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || w.Body.String() != `{"error":"temporarily unavailable"}`+"\n" {
		t.Fatalf("answer %d %v %q", w.Code, w.Header(), w.Body)
	}
	if !strings.Contains(logs.String(), `"route":"`+streamPath+`","step":"presence"`) {
		t.Fatalf("log %s", logs.String())
	}
	if testutil.ToFloat64(s.metrics.ConnErrors.WithLabelValues("broker")) != 1 {
		t.Fatal("not counted under broker")
	}
}
