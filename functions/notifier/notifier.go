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

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Publisher stores and publishes a notification, idempotently per message ID.
type Publisher interface {
	Publish(ctx context.Context, userID, messageID string, n notification.Notification) (id string, duplicate bool, err error)
}

// Handler handles job events. Build it with New.
type Handler struct {
	pub     Publisher
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	maxAge  time.Duration
}

// New returns a handler. maxAge drops events published longer ago than that (they
// could otherwise outlive their dedupe marker and be stored twice); 0 keeps all.
func New(pub Publisher, log *slog.Logger, metrics *Metrics, now func() time.Time, maxAge time.Duration) (*Handler, error) {
	if pub == nil || log == nil || metrics == nil || now == nil {
		return nil, errors.New("notifier.New: nil dependency")
	}
	return &Handler{pub: pub, log: log.With(logging.KeyComponent, "notify"), metrics: metrics, now: now, maxAge: maxAge}, nil
}

// Handle processes one CloudEvent. It returns an error only when a retry can succeed
// (Redis unavailable): the Functions Framework answers 5xx and Pub/Sub redelivers.
// Input that cannot be routed or understood is logged at ERROR, counted and
// acknowledged (nil). Display fields never cause that: a job whose title, error or
// video_url needed cleaning is published, logged at WARN and counted by field.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	start := h.now()
	msg, err := eventarc.DecodeEvent(e)
	if err != nil {
		h.reject(ctx, "malformed", e.ID(), err)
		return nil
	}
	if h.maxAge > 0 && !msg.PublishTime.IsZero() && start.Sub(msg.PublishTime) > h.maxAge {
		h.reject(ctx, "stale", msg.ID, fmt.Errorf("published %s ago, over the %s limit", start.Sub(msg.PublishTime).Round(time.Second), h.maxAge))
		return nil
	}
	n := msg.Job.Notification(start)
	id, dup, err := h.pub.Publish(ctx, msg.Job.UserID, msg.ID, n)
	attrs := []any{logging.KeyMessageID, msg.ID, logging.KeyUserID, msg.Job.UserID,
		logging.KeyRequestID, msg.Job.RequestID, logging.KeyType, string(n.Type)}
	if err != nil {
		h.metrics.Failures.Inc()
		h.log.ErrorContext(ctx, "publish failed; Pub/Sub will retry", append(attrs, logging.KeyError, err.Error())...)
		return fmt.Errorf("publish message %s: %w", msg.ID, err)
	}
	elapsed := h.now().Sub(start)
	h.metrics.Latency.Observe(elapsed.Seconds())
	attrs = append(attrs, logging.KeyEventID, id, logging.KeyLatencyMS, float64(elapsed.Microseconds())/1000)
	if dup {
		h.metrics.Duplicates.Inc()
		h.log.InfoContext(ctx, "duplicate delivery ignored", attrs...)
		return nil
	}
	h.metrics.Published.WithLabelValues(string(n.Type)).Inc()
	if !msg.Cleaned.Any() {
		h.log.InfoContext(ctx, "notification published", attrs...)
		return nil
	}
	h.published(ctx, msg.Cleaned, attrs)
	return nil
}

// keyCleaned is the log attribute listing what cleaning changed, field → changes.
const keyCleaned = "cleaned"

// published logs a notification delivered with cleaned or dropped fields: one WARN line
// per event (the fields, never their values), and counts each field.
func (h *Handler) published(ctx context.Context, c notification.Cleaned, attrs []any) {
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
	h.log.ErrorContext(ctx, "job event rejected", logging.KeyMessageID, messageID, logging.KeyReason, reason, logging.KeyError, err.Error())
}
