package server

import "github.com/prometheus/client_golang/prometheus"

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
	}
	reg.MustRegister(m.Active, m.Delivered, m.Latency, m.ConnErrors, m.SlowDrops, m.Replayed, m.Resets, m.Resyncs)
	return m
}
