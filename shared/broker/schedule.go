package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
)

// Scheduled notifications (send_at, schedule_key, cancel: docs/PROTOCOL.md "Input 2",
// docs/PUBLISHING.md "Scheduled notifications"). The function puts them in a Schedule;
// the stream instances poll it, claim what is due with a lease, publish it through the
// ordinary Publish path under the scheduling message's Pub/Sub id (so a release
// repeated by a second instance, or after a crash, is deduplicated per log) and then
// mark it done. Nothing of a scheduled notification is in any log before its release:
// it is invisible to streams, replay, history and push until then.

// MaxScheduleAhead is how far ahead send_at may be.
const MaxScheduleAhead = 30 * 24 * time.Hour

// Scheduled is one scheduled notification.
type Scheduled struct {
	// Key names it in the schedule: ScheduleKeyOf(schedule_key), or
	// MessageKeyOf(message id) when the publisher gave no schedule_key.
	Key string
	// MessageID is the Pub/Sub id of the message that scheduled it: the dedupe key of
	// its release.
	MessageID string
	// Sources are the logs it is released to (a user's, GroupSource, Everyone).
	Sources []string
	// Notification is what is published; its CreatedAt is set to DueAt on release.
	Notification notification.Notification
	// DueAt is when it is released.
	DueAt time.Time
}

// ScheduleKeyOf is the Key of a notification scheduled under a publisher's schedule_key.
func ScheduleKeyOf(scheduleKey string) string { return "k:" + scheduleKey }

// MessageKeyOf is the Key of a notification scheduled without a schedule_key.
func MessageKeyOf(messageID string) string { return "m:" + messageID }

// Claimed is a Scheduled an instance holds the lease of, until it calls Done or the
// lease runs out (then another instance claims it again).
type Claimed struct {
	Scheduled
	// Stored is the item's stored form: Done removes it only if it is unchanged (not
	// replaced by a later message with the same key meanwhile).
	Stored string
}

// Schedule stores scheduled notifications durably. Safe for concurrent use, by many
// processes at once for the Redis one.
type Schedule interface {
	// Put stores s, replacing whatever has the same Key (also one being released:
	// the replacement is released on its own).
	Put(ctx context.Context, s Scheduled) error
	// Cancel withdraws the item named key; it reports whether there was one. An item
	// already being released may still be published.
	Cancel(ctx context.Context, key string) (bool, error)
	// Claim leases up to max items due at now — and items whose lease ran out — to the
	// caller until now+lease; no other Claim returns them meanwhile.
	Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Claimed, error)
	// Done removes a released item, unless it was replaced since it was claimed.
	Done(ctx context.Context, c Claimed) error
}

// storedItem is the JSON form of a Scheduled in a store.
type storedItem struct {
	MessageID string          `json:"m"`
	Sources   []string        `json:"s"`
	Due       int64           `json:"d"`
	Body      json.RawMessage `json:"n"`
}

// EncodeScheduled is the stored form of s, without its Key.
func EncodeScheduled(s Scheduled) (string, error) {
	body, err := s.Notification.Body()
	if err != nil {
		return "", fmt.Errorf("encode scheduled notification: %w", err)
	}
	b, err := json.Marshal(storedItem{MessageID: s.MessageID, Sources: s.Sources, Due: s.DueAt.UnixMilli(), Body: body})
	return string(b), err
}

// DecodeScheduled reads what EncodeScheduled made.
func DecodeScheduled(key, stored string) (Claimed, error) {
	var it storedItem
	if err := json.Unmarshal([]byte(stored), &it); err != nil {
		return Claimed{}, fmt.Errorf("decode scheduled %s: %w", key, err)
	}
	var n notification.Notification
	if err := json.Unmarshal(it.Body, &n); err != nil {
		return Claimed{}, fmt.Errorf("decode scheduled %s: %w", key, err)
	}
	return Claimed{Scheduled: Scheduled{Key: key, MessageID: it.MessageID, Sources: it.Sources, Notification: n,
		DueAt: time.UnixMilli(it.Due)}, Stored: stored}, nil
}
