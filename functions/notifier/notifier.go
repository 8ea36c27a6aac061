// Package notifier is the function's logic: the Notify entry point turns one job event
// into one stored and published notification; the Publish entry point turns one
// announcement from another service into a notification stored in each log of its
// audience. It is importable (unlike the function's root package, which registers with
// the Functions Framework) so `make run` can host it in-process.
package notifier

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Publisher stores and publishes a notification, idempotently per message ID: the
// broker's, broker.Publisher (an alias, not a second declaration).
type Publisher = broker.Publisher

// The entry points' names (FUNCTION_TARGET), also the entry_point label of the metrics.
const (
	NotifyEntryPoint  = "Notify"
	PublishEntryPoint = "Publish"
)

// Handler handles the deliveries of one entry point: job events (New) or
// announcements (NewPublish). Safe for concurrent use.
type Handler struct {
	pub     Publisher
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	maxAge  time.Duration
	sum     *summary
	// published holds the per-type counters of the job types, and userWrites the
	// writes to users' logs, resolved once (Notify).
	published  map[notification.Type]prometheus.Counter
	userWrites prometheus.Counter

	// handle reads a delivery's data and stores what it asks for: the entry point's
	// own part (handleJob, handleAnnouncement).
	handle func(ctx context.Context, start time.Time, d eventarc.Delivery) error
	// rejected is the message of the ERROR line for a refused delivery.
	rejected string
	// concurrency bounds the writes one announcement has under way (Publish).
	concurrency int
	// eraser acts on erase_user messages (Publish; erase.go); nil refuses them.
	eraser Eraser
	// schedule keeps announcements with send_at until their time (Publish); nil
	// refuses them (schedule.go).
	schedule broker.Schedule
}

// Option tunes a Handler.
type Option func(*Handler)

// WithSummaryInterval sets how often the INFO summary line is written (default
// DefaultSummaryInterval). Each notification is logged at DEBUG only.
func WithSummaryInterval(d time.Duration) Option {
	return func(h *Handler) { h.sum.interval = d }
}

// DefaultSummaryInterval is how often the INFO summary line is written by default.
const DefaultSummaryInterval = 10 * time.Second

// New returns the Notify handler, for job events. maxAge drops events published longer
// ago than that (they could otherwise outlive their dedupe marker and be stored twice);
// 0 keeps all.
func New(pub Publisher, log *slog.Logger, metrics *Metrics, now func() time.Time, maxAge time.Duration, opts ...Option) (*Handler, error) {
	h, err := newHandler(NotifyEntryPoint, pub, log, metrics, now, maxAge, opts)
	if err != nil {
		return nil, err
	}
	h.handle, h.rejected = h.handleJob, "job event rejected"
	h.published = map[notification.Type]prometheus.Counter{}
	for _, t := range []notification.Type{notification.VideoComplete, notification.VideoFailed} {
		h.published[t] = h.metrics.Published.WithLabelValues(string(t))
	}
	h.userWrites = h.metrics.Writes.WithLabelValues(notification.AudienceUsers)
	return h, nil
}

// newHandler builds what both entry points share; the caller sets handle and rejected.
func newHandler(entryPoint string, pub Publisher, log *slog.Logger, metrics *Metrics, now func() time.Time, maxAge time.Duration, opts []Option) (*Handler, error) {
	if pub == nil || log == nil || metrics == nil || metrics.vecs == nil || now == nil {
		return nil, fmt.Errorf("notifier: %s handler: nil dependency (metrics come from NewMetrics)", entryPoint)
	}
	h := &Handler{pub: pub, log: log.With(logging.KeyComponent, strings.ToLower(entryPoint)), metrics: metrics.For(entryPoint),
		now: now, maxAge: maxAge, concurrency: DefaultConcurrency,
		sum: &summary{interval: DefaultSummaryInterval, name: strings.ToLower(entryPoint) + " summary"}}
	for _, o := range opts {
		o(h)
	}
	if h.sum.interval <= 0 {
		return nil, fmt.Errorf("notifier: summary interval %s is not positive", h.sum.interval)
	}
	if h.concurrency <= 0 {
		return nil, fmt.Errorf("notifier: concurrency %d is not positive", h.concurrency)
	}
	h.sum.start(now())
	return h, nil
}

// process hands a decoded delivery to the entry point, or refuses it when decoding
// failed (decodeErr; fallbackID names it in the log). It returns an error only when a
// retry can succeed (Redis unavailable): ServeHTTP answers 5xx and Pub/Sub redelivers.
// Input that cannot be routed or understood is logged at ERROR, counted and
// acknowledged (nil). Display fields never cause that: a job whose title, error or
// video_url needed cleaning is published, logged at WARN and counted by field.
func (h *Handler) process(ctx context.Context, start time.Time, d eventarc.Delivery, decodeErr error, fallbackID string) error {
	if decodeErr != nil {
		h.reject(ctx, "malformed", fallbackID, decodeErr)
		return nil
	}
	return h.handle(ctx, start, d)
}

// stale refuses (and reports true for) a delivery published longer ago than maxAge.
func (h *Handler) stale(ctx context.Context, start time.Time, d eventarc.Delivery) bool {
	if h.maxAge > 0 && !d.PublishTime.IsZero() && start.Sub(d.PublishTime) > h.maxAge {
		h.reject(ctx, "stale", d.ID, fmt.Errorf("published %s ago, over the %s limit", start.Sub(d.PublishTime).Round(time.Second), h.maxAge))
		return true
	}
	return false
}

// handleJob stores and publishes the notification of a job event (Notify).
//
// The write runs on a context that keeps ctx's values but not its cancellation: a
// client (Pub/Sub's push deadline) that gives up mid-write does not abort a write Redis
// may already have done, so its redelivery finds the dedupe marker instead of racing
// the write. The Redis client's dial, read and write timeouts bound it.
func (h *Handler) handleJob(ctx context.Context, start time.Time, d eventarc.Delivery) error {
	msg, err := d.Job()
	if err != nil {
		h.reject(ctx, "malformed", d.ID, err)
		return nil
	}
	if h.stale(ctx, start, d) {
		return nil
	}
	n := msg.Job.Notification(start)
	id, dup, err := h.pub.Publish(context.WithoutCancel(ctx), msg.Job.UserID, msg.ID, n)
	if err != nil {
		h.metrics.Failures.Inc()
		h.sum.failed.Add(1)
		h.log.ErrorContext(ctx, "publish failed; Pub/Sub will retry", append(h.attrs(msg, n), logging.KeyError, err.Error())...)
		h.sum.maybeFlush(h.log, h.now())
		return fmt.Errorf("publish message %s: %w", msg.ID, err)
	}
	end := h.now()
	elapsed := end.Sub(start)
	h.metrics.Latency.Observe(elapsed.Seconds())
	h.sum.observe(elapsed)
	switch {
	case dup:
		h.metrics.Duplicates.Inc()
		h.sum.duplicates.Add(1)
		h.debug(ctx, "duplicate delivery ignored", msg, n, id, elapsed)
	case msg.Cleaned.Any():
		h.countPublished(n.Type)
		h.sum.cleaned.Add(1)
		h.warnCleaned(ctx, msg.Cleaned, append(h.attrs(msg, n), logging.KeyEventID, id, logging.KeyLatencyMS, ms(elapsed)))
	default:
		h.countPublished(n.Type)
		h.debug(ctx, "notification published", msg, n, id, elapsed)
	}
	h.sum.maybeFlush(h.log, end)
	return nil
}

// countPublished counts a job's notification, written to its user's log.
func (h *Handler) countPublished(t notification.Type) {
	h.sum.published.Add(1)
	h.userWrites.Inc()
	if c, ok := h.published[t]; ok {
		c.Inc()
		return
	}
	h.metrics.Published.WithLabelValues(string(t)).Inc()
}

// debug writes the per-event line at DEBUG; at 1,000 events/s the INFO summary is
// what operators read (see summary). The attributes are built only when enabled.
func (h *Handler) debug(ctx context.Context, text string, msg eventarc.Message, n notification.Notification, id string, elapsed time.Duration) {
	if !h.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	h.log.DebugContext(ctx, text, append(h.attrs(msg, n), logging.KeyEventID, id, logging.KeyLatencyMS, ms(elapsed))...)
}

func (h *Handler) attrs(msg eventarc.Message, n notification.Notification) []any {
	return []any{logging.KeyMessageID, msg.ID, logging.KeyUserID, msg.Job.UserID,
		logging.KeyRequestID, msg.Job.RequestID, logging.KeyType, string(n.Type)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// keyCleaned is the log attribute listing what cleaning changed, field → changes.
const keyCleaned = "cleaned"

// warnCleaned logs a notification delivered with cleaned or dropped fields: one WARN line
// per event (the fields, never their values), and counts each field.
func (h *Handler) warnCleaned(ctx context.Context, c notification.Cleaned, attrs []any) {
	for field := range c.All() {
		h.metrics.Cleaned.WithLabelValues(field).Inc()
	}
	attrs = append(attrs, keyCleaned, c)
	if c.LinkDropped() {
		reason := "video_url is not an absolute https URL"
		if c.VideoURL&notification.FixMissing != 0 {
			reason = "video_url is missing"
		}
		h.log.WarnContext(ctx, "notification published without a link", append(attrs, logging.KeyReason, reason)...)
		return
	}
	h.log.WarnContext(ctx, "notification published with cleaned fields", attrs...)
}

func (h *Handler) reject(ctx context.Context, reason, messageID string, err error) {
	h.metrics.Rejected.WithLabelValues(reason).Inc()
	h.sum.rejected.Add(1)
	h.log.ErrorContext(ctx, h.rejected, logging.KeyMessageID, messageID, logging.KeyReason, reason, logging.KeyError, err.Error())
	h.sum.maybeFlush(h.log, h.now())
}
