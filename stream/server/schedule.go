package server

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/release"
)

// newReleaser builds the releaser of scheduled notifications over d.Schedule (nil
// when there is none), publishing through d.Publisher, and registers its counters.
// Every instance runs one: the schedule's leases share the work, and a release
// repeated by two of them is deduplicated (internal/release).
func newReleaser(d Deps, log *slog.Logger, reg prometheus.Registerer) *release.Releaser {
	if d.Schedule == nil {
		return nil
	}
	r := release.New(d.Schedule, d.Publisher, release.Options{Log: log.With(logging.KeyComponent, "schedule")})
	counter := func(name, help string, v func(release.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(r.Stats())) })
	}
	reg.MustRegister(
		counter("schedule_released_total", "Scheduled notifications released (written to every log of their audience) by this instance.",
			func(s release.Stats) uint64 { return s.Released }),
		counter("schedule_release_failures_total", "Writes of scheduled notifications that failed; the item is released again after its lease.",
			func(s release.Stats) uint64 { return s.Failed }),
		counter("schedule_expired_total", "Scheduled notifications dropped because expires_at passed before send_at.",
			func(s release.Stats) uint64 { return s.Expired }),
	)
	return r
}

// runRelease releases scheduled notifications until ctx ends; Serve runs and joins it.
func (s *Server) runRelease(ctx context.Context) {
	if s.release != nil {
		s.release.Run(ctx)
	}
}
