package notifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
)

// WithSchedule keeps announcements published with send_at in s until their time
// (Publish). Without it they are refused ("unschedulable"): nothing would release
// them.
func WithSchedule(s broker.Schedule) Option {
	return func(h *Handler) { h.schedule = s }
}

// Log attributes of a scheduled announcement.
const (
	keyScheduleKey = "schedule_key"
	keySendAt      = "send_at"
)

// handleScheduled stores an announcement with send_at in the schedule (docs/PUBLISHING.md
// "Scheduled notifications"): replacing the one with the same schedule_key, if any.
// The stream instances release it at max(send_at, now) through the ordinary write path
// under this message's id, so a redelivery of this message only stores the same item
// again, and a release is deduplicated like any delivery. Refused: send_at more than
// 30 days ahead ("too_far_ahead"), no schedule configured ("unschedulable"). A Redis
// failure is returned (Pub/Sub retries).
func (h *Handler) handleScheduled(ctx context.Context, start time.Time, d eventarc.Delivery, a notification.Announcement) error {
	if a.SendAt.After(start.Add(broker.MaxScheduleAhead)) {
		h.reject(ctx, "too_far_ahead", d.ID, fmt.Errorf("send_at is more than %s ahead", broker.MaxScheduleAhead))
		return nil
	}
	if h.schedule == nil {
		h.reject(ctx, "unschedulable", d.ID, errors.New("send_at given but this function has no schedule"))
		return nil
	}
	due := a.SendAt
	if due.Before(start) {
		due = start
	}
	key := broker.MessageKeyOf(d.ID)
	if a.ScheduleKey != "" {
		key = broker.ScheduleKeyOf(a.ScheduleKey)
	}
	item := broker.Scheduled{Key: key, MessageID: d.ID, Sources: Sources(a.Audience), Notification: a.Notification(due), DueAt: due}
	attrs := []any{logging.KeyMessageID, d.ID, logging.KeyType, string(a.Type), keyScheduleKey, a.ScheduleKey,
		keySendAt, due.UTC().Format(time.RFC3339Nano)}
	if err := h.schedule.Put(context.WithoutCancel(ctx), item); err != nil {
		h.metrics.Failures.Inc()
		h.sum.failed.Add(1)
		h.log.ErrorContext(ctx, "schedule failed; Pub/Sub will retry", append(attrs, logging.KeyError, err.Error())...)
		return fmt.Errorf("schedule message %s: %w", d.ID, err)
	}
	h.log.InfoContext(ctx, "announcement scheduled", attrs...)
	return nil
}

// handleCancel withdraws the scheduled announcement named key. A malformed cancel is
// refused like a malformed announcement; an unknown key is logged, not an error (it
// was released already, cancelled already, or never scheduled).
func (h *Handler) handleCancel(ctx context.Context, start time.Time, d eventarc.Delivery, key string, err error) error {
	if err != nil {
		h.reject(ctx, "malformed", d.ID, err)
		return nil
	}
	if h.stale(ctx, start, d) {
		return nil
	}
	if h.schedule == nil {
		h.reject(ctx, "unschedulable", d.ID, errors.New("cancel given but this function has no schedule"))
		return nil
	}
	found, err := h.schedule.Cancel(context.WithoutCancel(ctx), broker.ScheduleKeyOf(key))
	if err != nil {
		h.metrics.Failures.Inc()
		h.log.ErrorContext(ctx, "cancel failed; Pub/Sub will retry", logging.KeyMessageID, d.ID, logging.KeyError, err.Error())
		return fmt.Errorf("cancel message %s: %w", d.ID, err)
	}
	h.log.InfoContext(ctx, "scheduled announcement cancelled", logging.KeyMessageID, d.ID, keyScheduleKey, key, "found", found)
	return nil
}
