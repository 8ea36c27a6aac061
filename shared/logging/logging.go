// Package logging makes log/slog write the JSON lines Cloud Logging understands:
// severity instead of level, message instead of msg, and the request's trace so log
// lines group under it.
package logging

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Attribute keys used across the services.
const (
	KeyUserID    = "user_id"
	KeyEventID   = "event_id"
	KeyMessageID = "message_id"
	KeyRequestID = "request_id"
	KeyType      = "notification_type"
	KeyReason    = "reason"
	KeyLatencyMS = "latency_ms"
	KeyComponent = "component"
	KeyError     = "error"

	keyTrace = "logging.googleapis.com/trace"
	keySpan  = "logging.googleapis.com/spanId"
)

// New returns a logger writing Cloud Logging JSON to w. project (may be empty) is the
// Google Cloud project used in trace names.
func New(w io.Writer, level slog.Leveler, project string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replace})
	return slog.New(&traceHandler{Handler: h, project: project})
}

func replace(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		a.Key = "severity"
		switch lvl := a.Value.Any().(slog.Level); {
		case lvl >= slog.LevelError:
			a.Value = slog.StringValue("ERROR")
		case lvl >= slog.LevelWarn:
			a.Value = slog.StringValue("WARNING")
		case lvl >= slog.LevelInfo:
			a.Value = slog.StringValue("INFO")
		default:
			a.Value = slog.StringValue("DEBUG")
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

type traceKey struct{}

type trace struct{ id, span string }

// WithTrace returns ctx carrying the trace of r (traceparent, or Google's
// X-Cloud-Trace-Context), for the log lines written under it.
func WithTrace(ctx context.Context, h http.Header) context.Context {
	if t, ok := parseTrace(h); ok {
		return context.WithValue(ctx, traceKey{}, t)
	}
	return ctx
}

func parseTrace(h http.Header) (trace, bool) {
	// traceparent: 00-<32 hex trace>-<16 hex span>-<2 hex flags>
	if p := strings.Split(h.Get("traceparent"), "-"); len(p) == 4 && len(p[1]) == 32 && len(p[2]) == 16 && isHex(p[1]) && isHex(p[2]) {
		return trace{id: p[1], span: p[2]}, true
	}
	// X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1
	if v := h.Get("X-Cloud-Trace-Context"); v != "" {
		id, rest, _ := strings.Cut(v, "/")
		span, _, _ := strings.Cut(rest, ";")
		if len(id) == 32 && isHex(id) && len(span) <= 20 && isDigits(span) {
			return trace{id: id, span: span}, true
		}
	}
	return trace{}, false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f' || s[i] >= 'A' && s[i] <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// traceHandler adds the trace of the record's context.
type traceHandler struct {
	slog.Handler
	project string
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if t, ok := ctx.Value(traceKey{}).(trace); ok {
		name := t.id
		if h.project != "" {
			name = "projects/" + h.project + "/traces/" + t.id
		}
		r.AddAttrs(slog.String(keyTrace, name))
		if t.span != "" {
			r.AddAttrs(slog.String(keySpan, t.span))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h *traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &traceHandler{Handler: h.Handler.WithAttrs(as), project: h.project}
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	return &traceHandler{Handler: h.Handler.WithGroup(name), project: h.project}
}
