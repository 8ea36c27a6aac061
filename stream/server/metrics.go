package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the stream service's Prometheus metrics.
type Metrics struct {
	Active     prometheus.Gauge
	Delivered  prometheus.Counter
	Latency    prometheus.Histogram // notification created → frame flushed
	ConnErrors *prometheus.CounterVec
	SlowDrops  prometheus.Counter
	Replayed   prometheus.Counter
	Resets     prometheus.Counter
	Resyncs    prometheus.Counter
	// TokenChecks counts JWTs handed to the verifier; what admission refuses never is.
	TokenChecks prometheus.Counter
	// AuthFailures counts failed authentications charged to the client's address.
	AuthFailures prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sse_active_connections",
			Help: "Open SSE streams on this instance."}),
		Delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "sse_notifications_delivered_total",
			Help: "Notification frames written to clients (live and replayed)."}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sse_delivery_latency_seconds",
			Help:    "Time from a notification's creation by the function to its frame being flushed (live only).",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16)}),
		ConnErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sse_connection_errors_total",
			Help: "Stream requests refused or ended by an error, by reason."}, []string{"reason"}),
		SlowDrops: prometheus.NewCounter(prometheus.CounterOpts{Name: "sse_slow_client_drops_total",
			Help: "Streams dropped because their queue filled (the client was too slow)."}),
		Replayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "sse_replayed_total",
			Help: "Notifications sent from the log on resume or resync."}),
		Resets: prometheus.NewCounter(prometheus.CounterOpts{Name: "sse_resets_total",
			Help: "Reset frames sent (a last event id that could not be resumed from)."}),
		Resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "sse_pubsub_resyncs_total",
			Help: "Times the Redis pub/sub connection was replaced and every stream replayed."}),
		TokenChecks: prometheus.NewCounter(prometheus.CounterOpts{Name: "auth_token_checks_total",
			Help: "JWTs checked by the verifier (signature and claims)."}),
		AuthFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "auth_address_failures_total",
			Help: "Failed authentications charged to the client address's budget (not expired tokens nor missing credentials)."}),
	}
	reg.MustRegister(m.Active, m.Delivered, m.Latency, m.ConnErrors, m.SlowDrops, m.Replayed, m.Resets, m.Resyncs,
		m.TokenChecks, m.AuthFailures)
	return m
}

// metricsServer serves MetricsHandler on METRICS_ADDR, a listener of its own: /metrics
// is never on the public port (Cloud Run routes only PORT; its sidecar scrapes
// 127.0.0.1:9090).
type metricsServer struct {
	srv  *http.Server
	done chan error
}

// startMetrics listens on METRICS_ADDR and serves metrics there until stop; it returns
// nil when metrics are off. A port taken is an error at start, not a silent gap.
func (s *Server) startMetrics() (*metricsServer, error) {
	if s.cfg.MetricsAddr == "" || s.cfg.MetricsAddr == "off" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil && s.cfg.metricsFallback && errors.Is(err, syscall.EADDRINUSE) {
		// The default port is taken (another process on this host): see LoadConfig.
		s.log.Warn("default metrics port in use: serving metrics on a free loopback port instead",
			"wanted", s.cfg.MetricsAddr)
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	addr := ln.Addr().String()
	s.metricsAddr.Store(&addr)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.MetricsHandler())
	m := &metricsServer{done: make(chan error, 1), srv: &http.Server{Handler: mux,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.RequestTimeout, WriteTimeout: s.cfg.RequestTimeout,
		MaxHeaderBytes: maxHeaderBytes, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}}
	go func() { m.done <- m.srv.Serve(ln) }()
	s.log.Info("metrics listening", "addr", addr)
	return m, nil
}

// stop shuts the metrics server down and waits for its goroutine.
func (m *metricsServer) stop() error {
	if m == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		_ = m.srv.Close()
	}
	if err := <-m.done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics server: %w", err)
	}
	return nil
}

// MetricsAddr is the address metrics are served on ("" when off, or before Serve).
func (s *Server) MetricsAddr() string {
	if p := s.metricsAddr.Load(); p != nil {
		return *p
	}
	return ""
}
