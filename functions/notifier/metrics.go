package notifier

import "github.com/prometheus/client_golang/prometheus"

// keyEntryPoint labels every metric with the entry point that counted it (Notify,
// Publish), so both can share one registry (make run hosts both in one process).
const keyEntryPoint = "entry_point"

// Metrics count what one entry point of the function does. NewMetrics registers the
// metrics and returns Notify's view of them; For returns another entry point's view of
// the same metrics.
type Metrics struct {
	Published  *prometheus.CounterVec // messages stored and published, by notification type
	Duplicates prometheus.Counter     // redelivered messages already stored everywhere
	Rejected   *prometheus.CounterVec // by reason: malformed, stale, expired
	Cleaned    *prometheus.CounterVec // by field: request_id, title, error, video_url, body, link
	Failures   prometheus.Counter     // transient: answered 5xx for a retry
	Latency    prometheus.Observer    // message received → stored and published everywhere
	// Writes counts notifications written to a log, by audience kind: one per job
	// (users), one per recipient of a user list, one per group, one per broadcast.
	Writes *prometheus.CounterVec

	vecs *vectors
}

// vectors are the registered metrics, with the entry_point label.
type vectors struct {
	published, duplicates, rejected, cleaned, failures, writes *prometheus.CounterVec
	latency                                                    *prometheus.HistogramVec
}

// NewMetrics creates the metrics, registers them with reg, and returns Notify's view.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{keyEntryPoint}, labels...))
	}
	v := &vectors{
		published: counter("notify_published_total", "Messages whose notifications were stored and published, by entry point and type.", "type"),
		duplicates: counter("notify_duplicates_total",
			"Redelivered messages recognised by message ID and not stored again, by entry point."),
		rejected: counter("notify_rejected_total", "Messages acknowledged without a notification, by entry point and reason.", "reason"),
		cleaned: counter("notify_cleaned_total",
			"Messages published with a field cleaned (control characters, invalid UTF-8, cut, trimmed) or dropped (video_url), by entry point and field.", "field"),
		failures: counter("notify_failures_total", "Messages answered 5xx so Pub/Sub retries them (Redis unavailable), by entry point."),
		writes: counter("notify_writes_total",
			"Notifications written to a log (a user's, a group's or the broadcast log), by entry point and audience kind.", "audience"),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "notify_processing_seconds",
			Help:    "Time from receiving a message to its notifications being stored and published, by entry point.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{keyEntryPoint}),
	}
	reg.MustRegister(v.published, v.duplicates, v.rejected, v.cleaned, v.failures, v.writes, v.latency)
	return v.view(NotifyEntryPoint)
}

// For returns entryPoint's view of the same metrics.
func (m *Metrics) For(entryPoint string) *Metrics { return m.vecs.view(entryPoint) }

func (v *vectors) view(entryPoint string) *Metrics {
	l := prometheus.Labels{keyEntryPoint: entryPoint}
	return &Metrics{
		Published:  v.published.MustCurryWith(l),
		Duplicates: v.duplicates.With(l),
		Rejected:   v.rejected.MustCurryWith(l),
		Cleaned:    v.cleaned.MustCurryWith(l),
		Failures:   v.failures.With(l),
		Latency:    v.latency.With(l),
		Writes:     v.writes.MustCurryWith(l),
		vecs:       v,
	}
}
