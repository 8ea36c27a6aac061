package notifier

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

// DefaultConcurrency is how many writes one announcement to a user list has under way
// by default: enough to hide the round trip to Redis (the writes are single Lua
// scripts Redis runs one at a time anyway), within the Redis client's default pool (10
// connections per CPU), so a 1,000-user list leaves connections for other requests.
const DefaultConcurrency = 8

// WithConcurrency bounds the writes one announcement has under way (Publish; default
// DefaultConcurrency). 1 writes one log after the other.
func WithConcurrency(n int) Option {
	return func(h *Handler) { h.concurrency = n }
}

// NewPublish returns the Publish handler, for announcements from other services
// (docs/PROTOCOL.md "Input 2: notifications from any service"); the rest is as for New.
func NewPublish(pub Publisher, log *slog.Logger, metrics *Metrics, now func() time.Time, maxAge time.Duration, opts ...Option) (*Handler, error) {
	h, err := newHandler(PublishEntryPoint, pub, log, metrics, now, maxAge, opts)
	if err != nil {
		return nil, err
	}
	h.handle, h.rejected, h.sum.fanOut = h.handleAnnouncement, "announcement rejected", true
	return h, nil
}

// Sources returns the logs a notification for audience is stored in: each listed
// user's own log, each listed group's log (broker.GroupSource), or the broadcast log
// (broker.Everyone), which every stream reads: a broadcast is one write, whoever is
// connected.
func Sources(audience notification.Audience) []string {
	switch {
	case audience.All:
		return []string{broker.Everyone}
	case len(audience.Groups) > 0:
		out := make([]string, len(audience.Groups))
		for i, g := range audience.Groups {
			out[i] = broker.GroupSource(g)
		}
		return out
	}
	return audience.Users
}

// handleAnnouncement stores and publishes an announcement (Publish): one notification,
// the same for every recipient, written to each log of its audience under the Pub/Sub
// message ID. The broker deduplicates per log, so a redelivery — also the retry of a
// delivery that failed after writing some of a user list — writes only to the logs
// that lack it. Refused (ERROR, counted, acknowledged): an announcement that
// ParseAnnouncement refuses ("malformed"), a delivery older than maxAge ("stale") and
// one whose expires_at has passed by the time it arrives ("expired": nothing is
// delivered, as the stream would never send it anyway).
func (h *Handler) handleAnnouncement(ctx context.Context, start time.Time, d eventarc.Delivery) error {
	if user, isErase, err := eraseRequest(d.Data); isErase {
		if err != nil {
			h.reject(ctx, "malformed", d.ID, err)
			return nil
		}
		return h.handleErase(ctx, start, d, user)
	}
	if key, isCancel, err := notification.ParseCancel(d.Data); isCancel {
		return h.handleCancel(ctx, start, d, key, err)
	}
	a, cleaned, err := notification.ParseAnnouncement(d.Data)
	if err != nil {
		h.reject(ctx, "malformed", d.ID, err)
		return nil
	}
	if h.stale(ctx, start, d) {
		return nil
	}
	if a.Expired(start) {
		h.reject(ctx, "expired", d.ID, fmt.Errorf("expires_at passed %s before it arrived", start.Sub(a.ExpiresAt).Round(time.Second)))
		return nil
	}
	if !a.SendAt.IsZero() {
		return h.handleScheduled(ctx, start, d, a)
	}
	n := a.Notification(start)
	sources := Sources(a.Audience)
	// As for a job: the writes outlive a client that gives up (see handleJob).
	written, dups, err := h.fanOut(context.WithoutCancel(ctx), sources, d.ID, n)
	kind := a.Audience.Kind()
	if written > 0 {
		h.metrics.Writes.WithLabelValues(kind).Add(float64(written))
		h.sum.writes.Add(int64(written))
	}
	attrs := []any{logging.KeyMessageID, d.ID, logging.KeyType, string(a.Type), "announcement", a,
		keyLogs, len(sources), keyWritten, written, keyDuplicates, dups}
	if err != nil {
		h.metrics.Failures.Inc()
		h.sum.failed.Add(1)
		h.log.ErrorContext(ctx, "publish failed; Pub/Sub will retry", append(attrs, logging.KeyError, err.Error())...)
		h.sum.maybeFlush(h.log, h.now())
		return fmt.Errorf("publish message %s: %w", d.ID, err)
	}
	end := h.now()
	elapsed := end.Sub(start)
	h.metrics.Latency.Observe(elapsed.Seconds())
	h.sum.observe(elapsed)
	attrs = append(attrs, logging.KeyLatencyMS, ms(elapsed))
	switch {
	case written == 0:
		h.metrics.Duplicates.Inc()
		h.sum.duplicates.Add(1)
		h.debugAttrs(ctx, "duplicate delivery ignored", attrs)
	case cleaned.Any():
		h.metrics.Published.WithLabelValues(string(a.Type)).Inc()
		h.sum.published.Add(1)
		h.sum.cleaned.Add(1)
		for field := range cleaned.All() {
			h.metrics.Cleaned.WithLabelValues(field).Inc()
		}
		h.log.WarnContext(ctx, "announcement published with cleaned fields", append(attrs, keyCleaned, cleaned)...)
	default:
		h.metrics.Published.WithLabelValues(string(a.Type)).Inc()
		h.sum.published.Add(1)
		h.debugAttrs(ctx, "announcement published", attrs)
	}
	h.sum.maybeFlush(h.log, end)
	return nil
}

// Log attributes of an announcement's outcome: how many logs it goes to, how many it
// was newly written to, and how many already had it (a redelivery).
const (
	keyLogs       = "logs"
	keyWritten    = "written"
	keyDuplicates = "duplicates"
)

func (h *Handler) debugAttrs(ctx context.Context, text string, attrs []any) {
	if h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.DebugContext(ctx, text, attrs...)
	}
}

// fanOut writes n to every source under messageID, at most h.concurrency at a time.
// After the first failure it starts no new write, waits for those under way and
// returns that failure; written and dups count the writes that succeeded (new ones,
// and ones the log already had).
func (h *Handler) fanOut(ctx context.Context, sources []string, messageID string, n notification.Notification) (written, dups int, err error) {
	var (
		next, wrote, dup atomic.Int64
		failed           atomic.Bool
		once             sync.Once
		wg               sync.WaitGroup
	)
	for range min(h.concurrency, len(sources)) {
		wg.Go(func() {
			for !failed.Load() {
				i := next.Add(1) - 1
				if i >= int64(len(sources)) {
					return
				}
				_, isDup, perr := h.pub.Publish(ctx, sources[i], messageID, n)
				switch {
				case perr != nil:
					once.Do(func() { err = fmt.Errorf("write %d of %d: %w", i+1, len(sources), perr) })
					failed.Store(true)
				case isDup:
					dup.Add(1)
				default:
					wrote.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(wrote.Load()), int(dup.Load()), err
}
