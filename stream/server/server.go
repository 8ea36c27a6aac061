// Package server is the stream service's HTTP side: routes, health, metrics, and the
// orderly end of every stream on shutdown.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/stream/internal/admission"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/hub"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
	"github.com/vividly-edu/notifications/stream/web"
)

// Broker is what the service needs from a broker.
type Broker interface {
	hub.Broker
	Run(ctx context.Context, sink broker.Sink) error
	After(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error)
	Latest(ctx context.Context, userID string, limit int) ([]notification.Envelope, error)
	Range(ctx context.Context, userID, id string, limit int) ([]notification.Envelope, error)
	Ready(ctx context.Context) error
}

// Presence records open streams across instances, for the per-user cap.
type Presence interface {
	Acquire(ctx context.Context, user, conn string, limit int) (bool, error)
	Release(ctx context.Context, user, conn string) error
	Refresh(ctx context.Context, conns map[string]string) error
}

// Deps are the server's collaborators.
type Deps struct {
	Broker   Broker
	Tickets  ticket.Store
	Presence Presence
	// JWKS resolves RS256/ES256 keys; nil when JWT_JWKS_URL is unset.
	JWKS jwt.Keyfunc
}

// Server serves the stream endpoints.
type Server struct {
	cfg      Config
	log      *slog.Logger
	broker   Broker
	hub      *hub.Hub
	verifier *auth.Verifier
	tickets  *ticket.Issuer
	presence Presence
	limiter  *admission.Limiter
	origins  map[string]bool
	metrics  *Metrics
	gatherer prometheus.Gatherer
	draining chan struct{} // closed when shutdown starts

	instance string       // names this process in presence entries
	connSeq  atomic.Int64 // numbers this process's streams
	active   atomic.Int64 // open streams, against MaxConns
	connsMu  sync.Mutex
	conns    map[string]string // presence member → user, refreshed while open

	extra []route // added by Mount

	streams sync.WaitGroup // streams served on connections taken over from net/http
}

type route struct {
	pattern string
	handler http.Handler
}

// Mount adds a route served like the API's (request timeout, body limit, security
// headers). The local system uses it for its development helpers; call it before Serve.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.extra = append(s.extra, route{pattern, h})
}

// New wires a server. reg receives the service's metrics and is served on /metrics.
func New(cfg Config, d Deps, v *auth.Verifier, log *slog.Logger, reg *prometheus.Registry) (*Server, error) {
	if d.Broker == nil || d.Tickets == nil || d.Presence == nil || v == nil || log == nil || reg == nil {
		return nil, errors.New("server.New: nil dependency")
	}
	m := NewMetrics(reg)
	h, err := hub.New(d.Broker, cfg.QueueSize, cfg.QueueBytes, m.SlowDrops.Inc)
	if err != nil {
		return nil, err
	}
	is, err := ticket.New(d.Tickets, cfg.TicketTTL, time.Now)
	if err != nil {
		return nil, err
	}
	origins := map[string]bool{}
	for _, o := range cfg.AllowedOrigins {
		origins[o] = true
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	return &Server{cfg: cfg, log: log.With(logging.KeyComponent, "stream"), broker: d.Broker, hub: h, verifier: v,
		tickets: is, presence: d.Presence, limiter: admission.NewLimiter(cfg.RateLimitPerIP, cfg.RateLimitBurst, 0, time.Now),
		origins: origins, metrics: m, gatherer: reg, draining: make(chan struct{}),
		instance: hex.EncodeToString(id[:]), conns: map[string]string{}}, nil
}

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

// Serve runs the broker's live feed and serves ln until ctx ends; then it stops
// accepting, ends every stream (spread over DrainTime) and returns within ~10 s.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	feedCtx, stopFeed := context.WithCancel(context.Background())
	defer stopFeed()
	feedDone := make(chan error, 1)
	go func() { feedDone <- s.broker.Run(feedCtx, sink{s}) }()
	go s.refreshPresence(feedCtx)

	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
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
	// Shutdown does not know the connections taken over from it; they end on the
	// drain signal too.
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		err = errors.Join(err, errors.New("streams still open at the shutdown deadline"))
	}
	return err
}

// refreshPresence keeps this instance's presence entries alive until ctx ends.
func (s *Server) refreshPresence(ctx context.Context) {
	t := time.NewTicker(presence.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.connsMu.Lock()
		snapshot := maps.Clone(s.conns)
		s.connsMu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.presence.Refresh(rctx, snapshot); err != nil {
			s.log.Warn("presence refresh failed", logging.KeyError, err.Error())
		}
		cancel()
	}
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
