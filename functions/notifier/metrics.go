package notifier

import "github.com/prometheus/client_golang/prometheus"

// Metrics count what the function does.
type Metrics struct {
	Published  *prometheus.CounterVec // by notification type
	Duplicates prometheus.Counter
	Rejected   *prometheus.CounterVec // by reason: malformed, stale
	Cleaned    *prometheus.CounterVec // by field: request_id, title, error, video_url
	Failures   prometheus.Counter     // transient: answered 5xx for a retry
	Latency    prometheus.Histogram   // event received → stored and published
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "notify_published_total",
			Help: "Notifications stored and published, by type."}, []string{"type"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "notify_duplicates_total",
			Help: "Redelivered job events recognised by message ID and not stored again."}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "notify_rejected_total",
			Help: "Job events acknowledged without a notification, by reason."}, []string{"reason"}),
		Cleaned: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "notify_cleaned_total",
			Help: "Notifications published with a field cleaned (control characters, invalid UTF-8, cut) or dropped (video_url), by field."}, []string{"field"}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "notify_failures_total",
			Help: "Job events answered 5xx so Pub/Sub retries them (Redis unavailable)."}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "notify_processing_seconds",
			Help:    "Time from receiving a job event to its notification being stored and published.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
	}
	reg.MustRegister(m.Published, m.Duplicates, m.Rejected, m.Cleaned, m.Failures, m.Latency)
	return m
}
