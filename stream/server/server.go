// Package server is the stream service's HTTP side: routes, health, metrics, the SSE
// streams (conn: one stream's life from admission to close), and the orderly end of
// every stream and background goroutine on shutdown (Serve).
package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/admission"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/hub"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/release"
	"github.com/vividly-edu/notifications/stream/internal/rooms"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// Server serves the stream endpoints.
type Server struct {
	cfg      Config
	log      *slog.Logger
	broker   Broker
	hub      *hub.Hub
	verifier *auth.Verifier
	tickets  *ticket.Issuer
	presence Presence
	push     *pusher            // Web Push; nil when off
	release  *release.Releaser  // releases scheduled notifications; nil when off
	rooms    *rooms.Hub         // room sockets; nil when off
	privacy  Privacy            // receipts, export; nil when off
	members  MemberRecorder     // who is in which group; nil when off
	failures *admission.Limiter // failed authentication, per client address
	users    *admission.Limiter // API requests, per authenticated user
	// historyBusy counts each user's history requests running here (maxHistoryInFlight).
	historyBusy inFlight
	origins     map[string]bool
	metrics     *Metrics
	gatherer    prometheus.Gatherer
	draining    chan struct{} // closed when shutdown starts

	metricsAddr atomic.Pointer[string] // where metrics are served, once Serve listens there
	beat        atomic.Pointer[beat]   // the streams' heartbeat clock while Serve runs (beat.go)

	instance     string        // names this process in presence entries
	connSeq      atomic.Int64  // numbers this process's streams
	active       atomic.Int64  // open streams, against MaxConns
	refreshEvery time.Duration // how often presence entries are refreshed

	// connsMu guards conns, closing and the presence member and taken-over connection
	// of each conn (read by the presence refresh and by Serve's deadline).
	connsMu sync.Mutex
	conns   map[*conn]struct{} // every stream between open and close
	closing bool               // set when shutdown starts: no stream may register after
	streams sync.WaitGroup     // one per registered stream; Serve waits for them

	extra []route // added by Mount
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

// New wires a server. reg receives the service's metrics; Serve serves it on
// METRICS_ADDR.
func New(cfg Config, d Deps, v *auth.Verifier, log *slog.Logger, reg *prometheus.Registry) (*Server, error) {
	if d.Broker == nil || d.Tickets == nil || d.Presence == nil || v == nil || log == nil || reg == nil {
		return nil, errors.New("server.New: nil dependency")
	}
	if d.Schedule != nil && d.Publisher == nil {
		return nil, errors.New("server.New: Deps.Schedule without Deps.Publisher to release into")
	}
	log = log.With(logging.KeyComponent, "stream")
	m := NewMetrics(reg)
	h, err := hub.New(d.Broker, hub.Options{QueueSize: cfg.QueueSize, QueueBytes: cfg.QueueBytes,
		OnDrop: m.SlowDrops.Inc, Log: log})
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
	push, err := newPusher(cfg, d.Push, log, reg)
	if err != nil {
		return nil, err
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	var rh *rooms.Hub
	if d.Rooms != nil {
		if rh, err = d.Rooms.Hub(hex.EncodeToString(id[:]), log); err != nil {
			return nil, err
		}
	}
	return &Server{rooms: rh, cfg: cfg, log: log, broker: d.Broker, hub: h, verifier: v,
		tickets: is, presence: d.Presence, push: push, privacy: d.Privacy, members: d.Members, release: newReleaser(d, log, reg),
		failures: admission.NewLimiter(cfg.RateLimitPerIP, cfg.RateLimitBurst, 0, time.Now),
		users:    admission.NewLimiter(cfg.RateLimitPerUser, cfg.RateLimitUserBurst, 0, time.Now),
		origins:  origins, metrics: m, gatherer: reg, draining: make(chan struct{}),
		instance: hex.EncodeToString(id[:]), refreshEvery: presence.TTL / 3, conns: map[*conn]struct{}{}}, nil
}

// register adds c to the open streams, unless shutdown has started.
func (s *Server) register(c *conn) bool {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if s.closing {
		return false
	}
	// Under connsMu with closing false: never concurrent with Serve's Wait.
	s.streams.Add(1)
	s.conns[c] = struct{}{}
	return true
}

// unregister removes c; Serve's wait for the streams can end after it.
func (s *Server) unregister(c *conn) {
	s.connsMu.Lock()
	delete(s.conns, c)
	s.connsMu.Unlock()
	s.streams.Done()
}

// setConn records the connection c took over from net/http, so that shutdown can close
// it if the stream outlives the deadline.
func (s *Server) setConn(c *conn, nc net.Conn) {
	s.connsMu.Lock()
	c.nc = nc
	s.connsMu.Unlock()
}

// closeTakenOver closes every connection taken over from net/http: their streams' next
// write fails and they end.
func (s *Server) closeTakenOver() {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for c := range s.conns {
		if c.nc != nil {
			_ = c.nc.Close()
		}
	}
}
