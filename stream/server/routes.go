package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/web"
)

// Handler returns the service's routes. The stream route is exempt from the request
// timeout (it is long-lived by design); every response gets the security headers.
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v1/notifications/tickets", s.issueTicket)
	api.HandleFunc("GET /api/v1/notifications", s.history)
	api.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	api.HandleFunc("GET /readyz", s.ready)
	api.Handle("GET /client/notifications.js", web.Client())
	if s.cfg.DemoEnabled {
		api.Handle("GET /demo/", web.Demo())
	}
	for _, r := range s.extra {
		api.Handle(r.pattern, r.handler)
	}
	api.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	api.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found", 0)
	})
	bounded := http.TimeoutHandler(limitBody(api), s.cfg.RequestTimeout, `{"error":"request timed out"}`)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/notifications/stream", s.stream)
	mux.Handle("/", bounded)
	return securityHeaders(s.cors(mux))
}

// ready serves /readyz: 503 while draining or while the broker (Redis and its pub/sub
// connection) is not ready.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.draining:
		writeError(w, http.StatusServiceUnavailable, "shutting down", 1)
		return
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.broker.Ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", logging.KeyError, err.Error())
		writeError(w, http.StatusServiceUnavailable, "not ready", 1)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
