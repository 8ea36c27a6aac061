package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/web"
)

// Handler returns the service's public routes. Every API route is under admission
// (s.api, or the stream's own open). The stream route is exempt from the request
// timeout once it has started (it is long-lived by design); every other request is
// bounded by REQUEST_TIMEOUT, reading its body included. Every response gets the
// security headers. /metrics is not here: it is served on METRICS_ADDR alone.
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v1/notifications/tickets", s.api(s.issueTicket))
	api.HandleFunc("GET /api/v1/notifications", s.api(s.history))
	api.HandleFunc("POST /api/v1/notifications/read", s.api(s.markRead))
	api.HandleFunc("POST /api/v1/notifications/seen", s.api(s.markSeen))
	api.HandleFunc("POST /api/v1/notifications/archive", s.api(s.archive(true)))
	api.HandleFunc("POST /api/v1/notifications/unarchive", s.api(s.archive(false)))
	api.HandleFunc("POST /api/v1/notifications/unread", s.api(s.markUnread))
	api.HandleFunc("GET /api/v1/notifications/preferences", s.api(s.preferences))
	api.HandleFunc("PUT /api/v1/notifications/preferences", s.api(s.setPreferences))
	api.HandleFunc("GET /api/v1/receipts", s.api(s.receipts))
	api.HandleFunc("GET /api/v1/notifications/export", s.api(s.export))
	api.HandleFunc("GET /api/v1/notifications/push/key", s.pushKey) // public key: gate only
	api.HandleFunc("POST /api/v1/notifications/push/subscriptions", s.api(s.subscribePush))
	api.HandleFunc("DELETE /api/v1/notifications/push/subscriptions", s.api(s.unsubscribePush))
	api.HandleFunc("POST /api/v1/notifications/push/devices", s.api(s.registerDevice))
	api.HandleFunc("DELETE /api/v1/notifications/push/devices", s.api(s.unregisterDevice))
	api.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	api.HandleFunc("GET /readyz", s.ready)
	client := web.Client()
	for _, p := range web.ClientPaths() { // notifications.js and the modules it imports
		api.Handle("GET "+p, client)
	}
	if s.cfg.DemoEnabled {
		api.Handle("GET /demo/", web.Demo())
	}
	for _, r := range s.extra {
		api.Handle(r.pattern, r.handler)
	}
	api.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found", 0)
	})
	bounded := boundRead(s.cfg.RequestTimeout,
		http.TimeoutHandler(limitBody(api), s.cfg.RequestTimeout, `{"error":"request timed out"}`))

	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/notifications/stream", s.stream) // every method: stream answers 405 itself
	if s.rooms != nil {
		mux.HandleFunc("/api/v1/rooms/{room}/ws", s.roomSocket) // long-lived, like the stream
	}
	mux.Handle("/", bounded)
	return securityHeaders(s.cors(mux))
}

// MetricsHandler serves the service's metrics in the Prometheus text format. Serve
// serves it on METRICS_ADDR; the local system mounts it on its loopback-only port.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
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
