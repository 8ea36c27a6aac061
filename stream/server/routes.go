package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/web"
)

// Answers of the routes outside the API handlers; not refusals the metric counts.
var (
	errNotFound     = &apiError{status: http.StatusNotFound, msg: "not found"}
	errShuttingDown = &apiError{status: http.StatusServiceUnavailable, msg: "shutting down", retryAfter: 1}
	errNotReady     = &apiError{status: http.StatusServiceUnavailable, msg: "not ready", retryAfter: 1}
)

// streamPath is the SSE stream's route (docs/PROTOCOL.md "Endpoints").
const streamPath = "/api/v1/notifications/stream"

// apiRoute is an authenticated API route: pattern (a ServeMux pattern) served by h
// under s.api.
type apiRoute struct {
	pattern string
	h       apiHandler
}

// apiRoutes are the routes under s.api: Handler registers them, and the trace test
// walks them.
func (s *Server) apiRoutes() []apiRoute {
	return []apiRoute{
		{"POST /api/v1/notifications/tickets", s.issueTicket},
		{"GET /api/v1/notifications", s.history},
		{"POST /api/v1/notifications/read", s.markRead},
		{"POST /api/v1/notifications/seen", s.markSeen},
		{"POST /api/v1/notifications/archive", s.archive(true)},
		{"POST /api/v1/notifications/unarchive", s.archive(false)},
		{"POST /api/v1/notifications/unread", s.markUnread},
		{"GET /api/v1/notifications/preferences", s.preferences},
		{"PUT /api/v1/notifications/preferences", s.setPreferences},
		{"GET /api/v1/receipts", s.receipts},
		{"GET /api/v1/notifications/export", s.export},
		{"POST /api/v1/notifications/push/subscriptions", s.subscribePush},
		{"DELETE /api/v1/notifications/push/subscriptions", s.unsubscribePush},
		{"POST /api/v1/notifications/push/devices", s.registerDevice},
		{"DELETE /api/v1/notifications/push/devices", s.unregisterDevice},
	}
}

// Handler returns the service's public routes. Every API route is under admission
// (s.api, or the stream's own open). The stream route is exempt from the request
// timeout once it has started (it is long-lived by design); every other request is
// bounded by REQUEST_TIMEOUT, reading its body included. Every request carries its
// trace in its context (withTrace, outermost, so no route can miss it); every response
// gets the security headers. /metrics is not here: it is served on METRICS_ADDR alone.
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	for _, rt := range s.apiRoutes() {
		api.HandleFunc(rt.pattern, s.api(rt.h))
	}
	api.HandleFunc("GET /api/v1/notifications/push/key", s.pushKey) // public key: gate only
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
		errNotFound.write(w)
	})
	bounded := boundRead(s.cfg.RequestTimeout,
		http.TimeoutHandler(limitBody(api), s.cfg.RequestTimeout, `{"error":"request timed out"}`))

	mux := http.NewServeMux()
	mux.HandleFunc(streamPath, s.stream) // every method: stream answers 405 itself
	if s.rooms != nil {
		mux.HandleFunc("/api/v1/rooms/{room}/ws", s.roomSocket) // long-lived, like the stream
	}
	mux.Handle("/", bounded)
	return withTrace(securityHeaders(s.cors(mux)))
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
		errShuttingDown.write(w)
		return
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.broker.Ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", logging.KeyError, err.Error())
		errNotReady.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
