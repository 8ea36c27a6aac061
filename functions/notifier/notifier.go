// Package notifier turns one job event into one stored and published notification. It
// is the function's logic, importable (unlike the function's root package, which
// registers with the Functions Framework) so `make run` can host it in-process.
package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Publisher stores and publishes a notification, idempotently per message ID.
type Publisher interface {
	Publish(ctx context.Context, userID, messageID string, n notification.Notification) (id string, duplicate bool, err error)
}

// Handler handles job events. Build it with New. Safe for concurrent use.
type Handler struct {
	pub     Publisher
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	maxAge  time.Duration
	sum     *summary
	// published holds the per-type counters of the job types, resolved once.
	published map[notification.Type]prometheus.Counter
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

// New returns a handler. maxAge drops events published longer ago than that (they
// could otherwise outlive their dedupe marker and be stored twice); 0 keeps all.
func New(pub Publisher, log *slog.Logger, metrics *Metrics, now func() time.Time, maxAge time.Duration, opts ...Option) (*Handler, error) {
	if pub == nil || log == nil || metrics == nil || now == nil {
		return nil, errors.New("notifier.New: nil dependency")
	}
	h := &Handler{pub: pub, log: log.With(logging.KeyComponent, "notify"), metrics: metrics, now: now, maxAge: maxAge,
		sum: &summary{interval: DefaultSummaryInterval}}
	for _, o := range opts {
		o(h)
	}
	if h.sum.interval <= 0 {
		return nil, fmt.Errorf("notifier.New: summary interval %s is not positive", h.sum.interval)
	}
	h.sum.start(now())
	if metrics.Published != nil {
		h.published = map[notification.Type]prometheus.Counter{}
		for _, t := range []notification.Type{notification.VideoComplete, notification.VideoFailed} {
			h.published[t] = metrics.Published.WithLabelValues(string(t))
		}
	}
	return h, nil
}

// Handle processes one CloudEvent. It returns an error only when a retry can succeed
// (Redis unavailable): the Functions Framework answers 5xx and Pub/Sub redelivers.
// Input that cannot be routed or understood is logged at ERROR, counted and
// acknowledged (nil). Display fields never cause that: a job whose title, error or
// video_url needed cleaning is published, logged at WARN and counted by field.
// ServeHTTP is the same over HTTP, and what the function registers.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	start := h.now()
	msg, err := eventarc.DecodeEvent(e)
	return h.process(ctx, start, msg, err, e.ID())
}

// process stores and publishes a decoded message, or refuses it when decoding failed
// (decodeErr; fallbackID names it in the log). A returned error means "retry".
//
// The write runs on a context that keeps ctx's values but not its cancellation: a
// client (Pub/Sub's push deadline) that gives up mid-write does not abort a write Redis
// may already have done, so its redelivery finds the dedupe marker instead of racing
// the write. The Redis client's dial, read and write timeouts bound it.
func (h *Handler) process(ctx context.Context, start time.Time, msg eventarc.Message, decodeErr error, fallbackID string) error {
	if decodeErr != nil {
		h.reject(ctx, "malformed", fallbackID, decodeErr)
		return nil
	}
	if h.maxAge > 0 && !msg.PublishTime.IsZero() && start.Sub(msg.PublishTime) > h.maxAge {
		h.reject(ctx, "stale", msg.ID, fmt.Errorf("published %s ago, over the %s limit", start.Sub(msg.PublishTime).Round(time.Second), h.maxAge))
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

func (h *Handler) countPublished(t notification.Type) {
	h.sum.published.Add(1)
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
	h.log.ErrorContext(ctx, "job event rejected", logging.KeyMessageID, messageID, logging.KeyReason, reason, logging.KeyError, err.Error())
	h.sum.maybeFlush(h.log, h.now())
}
