package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/vividly-edu/notifications/shared/logging"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg}; retryAfter > 0 adds Retry-After (seconds).
func writeError(w http.ResponseWriter, status int, msg string, retryAfter int) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// refuse answers a refused request and counts it by reason.
func (s *Server) refuse(w http.ResponseWriter, status int, reason, msg string, retryAfter int) {
	s.metrics.ConnErrors.WithLabelValues(reason).Inc()
	writeError(w, status, msg, retryAfter)
}

// unavailable logs a broker failure of any route (the stream, history, read marks,
// preferences...; step names it) and answers 503 without its details.
func (s *Server) unavailable(ctx context.Context, w http.ResponseWriter, user, what string, err error) {
	s.log.ErrorContext(ctx, "request refused: broker unavailable", logging.KeyUserID, user, "step", what, logging.KeyError, err.Error())
	s.refuse(w, http.StatusServiceUnavailable, "broker", "temporarily unavailable", 1)
}

// truncate bounds client-supplied text before it is logged.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
