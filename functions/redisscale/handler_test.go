package redisscale

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// alert is a Cloud Monitoring notification (schema 1.2) as the Pub/Sub channel
// publishes it, trimmed to the fields that matter plus a few it ignores.
func alert(state string) []byte {
	return []byte(`{"version":"1.2","incident":{"incident_id":"0.abc","scoping_project_id":"p",` +
		`"policy_name":"vividly-notify-prod: Redis memory above 75 % (scale)","state":"` + state + `",` +
		`"started_at":1765000000,"resource":{"type":"redis_instance","labels":{"instance_id":"x"}},` +
		`"summary":"memory usage ratio is above the threshold"}}`)
}

// eventRequest is an Eventarc delivery in binary mode: ce-* headers, the push body as data.
func eventRequest(data []byte) *http.Request {
	body := eventarc.PushBody(data, "msg-1", time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC))
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Ce-Specversion", "1.0")
	r.Header.Set("Ce-Type", eventarc.EventType)
	r.Header.Set("Ce-Source", "//pubsub.googleapis.com/projects/p/topics/redis-scale")
	r.Header.Set("Ce-Id", "msg-1")
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestHandler(t *testing.T) {
	t.Parallel()
	transient := errors.New("connection reset")
	for _, tc := range []struct {
		name      string
		req       *http.Request
		scaleErr  error
		skipped   string
		wantCode  int
		wantCalls int32
		wantLog   string
	}{
		{"open incident scales", eventRequest(alert("open")), nil, "", 200, 1, `"message":"redis scale started"`},
		{"plain push body too", httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(eventarc.PushBody(alert("open"), "m", time.Time{}))), nil, "", 200, 1, "redis scale started"},
		{"closed incident does nothing", eventRequest(alert("closed")), nil, "", 200, 0, "incident not open"},
		{"not a notification is acknowledged", eventRequest([]byte(`{"user_id":"u1"}`)), nil, "", 200, 0, `"severity":"ERROR"`},
		{"API trouble is retried", eventRequest(alert("open")), transient, "", 500, 1, "Pub/Sub will retry"},
		{"a refused update is acknowledged", eventRequest(alert("open")), ErrPermanent, "", 200, 1, "redis scale refused"},
		{"at the ceiling is an error to see", eventRequest(alert("open")), nil, skippedCeiling, 200, 1, `"severity":"ERROR","message":"redis scale skipped"`},
		{"not a delivery", httptest.NewRequest(http.MethodPost, "/", strings.NewReader("hello")), nil, "", 400, 0, ""},
		{"GET", httptest.NewRequest(http.MethodGet, "/", nil), nil, "", 405, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var logs bytes.Buffer
			h := &Handler{
				Scale: func(context.Context) (Result, error) {
					calls.Add(1)
					return Result{From: 5, To: 6, Unit: "GB", Skipped: tc.skipped}, tc.scaleErr
				},
				Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: renameForTest})),
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req)
			if w.Code != tc.wantCode {
				t.Errorf("status %d, want %d (%s)", w.Code, tc.wantCode, w.Body)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("Scale called %d times, want %d", got, tc.wantCalls)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log %q lacks %q", logs.String(), tc.wantLog)
			}
		})
	}
}

// renameForTest spells level and msg as the production logger does (shared/logging).
func renameForTest(_ []string, a slog.Attr) slog.Attr {
	switch a.Key {
	case slog.LevelKey:
		return slog.String("severity", a.Value.String())
	case slog.MessageKey:
		return slog.Attr{Key: "message", Value: a.Value}
	}
	return a
}

// The whole path: an alert delivery through the handler and a real Scaler to the
// stand-in API, which checks the PATCH as the REST reference defines it.
func TestAlertToPatch(t *testing.T) {
	t.Parallel()
	api := newFake(t, spec{name: clusterName, field: "shardCount", state: "ACTIVE", size: 3})
	s := api.start(3, 6, 1)
	h := &Handler{Scale: s.Scale, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	for range 2 { // the second alert finds the cluster UPDATING
		w := httptest.NewRecorder()
		h.ServeHTTP(w, eventRequest(alert("open")))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if d := cmp.Diff([]int{4}, api.sent()); d != "" {
		t.Errorf("PATCHed shard counts (-want +got):\n%s", d)
	}
}
