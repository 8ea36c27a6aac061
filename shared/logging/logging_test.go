package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
)

func TestCloudLoggingShape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		header    http.Header
		log       func(context.Context, *slog.Logger)
		severity  string
		wantTrace string
		wantSpan  string
	}{
		{"info with traceparent", http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
			func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "hello", KeyUserID, "u-1") },
			"INFO", "projects/p1/traces/4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"warn with cloud trace", http.Header{"X-Cloud-Trace-Context": {"105445aa7843bc8bf206b12000100000/1;o=1"}},
			func(ctx context.Context, l *slog.Logger) { l.With("component", "x").WarnContext(ctx, "hello") },
			"WARNING", "projects/p1/traces/105445aa7843bc8bf206b12000100000", "1"},
		{"error without trace", http.Header{"Traceparent": {"garbage"}},
			func(ctx context.Context, l *slog.Logger) { l.ErrorContext(ctx, "hello") }, "ERROR", "", ""},
		{"debug", nil, func(ctx context.Context, l *slog.Logger) { l.WithGroup("g").DebugContext(ctx, "hello", "a", 1) }, "DEBUG", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l := New(&buf, slog.LevelDebug, "p1")
			tc.log(WithTrace(context.Background(), tc.header), l)
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("not JSON: %q", buf.String())
			}
			if got["severity"] != tc.severity || got["message"] != "hello" || got["level"] != nil || got["msg"] != nil {
				t.Errorf("got %v", got)
			}
			if tr, _ := got[keyTrace].(string); tr != tc.wantTrace {
				t.Errorf("trace = %q, want %q", tr, tc.wantTrace)
			}
			if sp, _ := got[keySpan].(string); sp != tc.wantSpan {
				t.Errorf("span = %q, want %q", sp, tc.wantSpan)
			}
		})
	}
}

func TestLevelFilter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo, "").Debug("hidden")
	if buf.Len() != 0 {
		t.Errorf("debug written at info level: %q", buf.String())
	}
}
