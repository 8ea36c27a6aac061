// Package server is the stream service's HTTP side: routes, health, metrics, and the
// orderly end of every stream on shutdown.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/hub"
)

// Broker is what the service needs from a broker.
type Broker interface {
	hub.Broker
	Run(ctx context.Context, sink broker.Sink) error
	After(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error)
	Latest(ctx context.Context, userID string, limit int) ([]notification.Envelope, error)
	Ready(ctx context.Context) error
}

// Server serves the stream endpoints.
type Server struct {
	cfg      Config
	log      *slog.Logger
	broker   Broker
	hub      *hub.Hub
	verifier *auth.Verifier
	metrics  *Metrics
	gatherer prometheus.Gatherer
	draining chan struct{} // closed when shutdown starts
}

// New wires a server. reg receives the service's metrics and is served on /metrics.
func New(cfg Config, b Broker, v *auth.Verifier, log *slog.Logger, reg *prometheus.Registry) (*Server, error) {
	if b == nil || v == nil || log == nil || reg == nil {
		return nil, errors.New("server.New: nil dependency")
	}
	m := NewMetrics(reg)
	h, err := hub.New(b, cfg.QueueSize, m.SlowDrops.Inc)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: log.With(logging.KeyComponent, "stream"), broker: b, hub: h, verifier: v,
		metrics: m, gatherer: reg, draining: make(chan struct{})}, nil
}

// Handler returns the service's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/notifications/stream", s.stream)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found", 0)
	})
	return mux
}

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
		writeError(w, http.StatusServiceUnavailable, "not ready: "+err.Error(), 1)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Serve runs the broker's live feed and serves ln until ctx ends; then it stops
// accepting, ends every stream (spread over DrainTime) and returns within ~10 s.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	feedCtx, stopFeed := context.WithCancel(context.Background())
	defer stopFeed()
	feedDone := make(chan error, 1)
	go func() { feedDone <- s.broker.Run(feedCtx, sink{s}) }()

	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("stream service listening", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		return err
	case err := <-feedDone:
		_ = srv.Close()
		return errors.Join(errors.New("broker feed stopped"), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: closing streams", "drain", s.cfg.DrainTime.String())
	close(s.draining)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTime+4*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx) // waits for the stream handlers, which are ending
	if err != nil {
		_ = srv.Close()
	}
	return err
}

// sink counts resyncs on their way to the hub.
type sink struct{ s *Server }

func (k sink) Deliver(userID string, e notification.Envelope) { k.s.hub.Deliver(userID, e) }
func (k sink) Resync() {
	k.s.metrics.Resyncs.Inc()
	k.s.log.Warn("pub/sub connection replaced: replaying every stream from its log")
	k.s.hub.Resync()
}

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
