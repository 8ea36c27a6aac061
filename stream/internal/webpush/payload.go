package webpush

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
)

// SummaryType is the type of the push that closes a coalescing window. It is never
// stored or streamed, but the Publish path should reserve it like "reset" and "read".
const SummaryType = "summary"

// meta is what the push path reads from a notification's JSON; the JSON itself is sent
// unchanged whenever it fits.
type meta struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Severity  string    `json:"severity"`
	ExpiresAt time.Time `json:"expires_at"`
	// Mandatory notifications (severity warning or error only) ignore mutes and quiet
	// hours (docs/PUBLISHING.md).
	Mandatory bool `json:"mandatory"`
}

func parseMeta(data []byte) (meta, error) {
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return meta{}, fmt.Errorf("notification json: %w", err)
	}
	if m.Type == "" {
		return meta{}, errors.New("notification json: no type")
	}
	return m, nil
}

// urgencyOf maps a notification to RFC 8030 Urgency. What the student started and is
// waiting for (a video finished or failed) and errors are "high": push services deliver
// those at once even to a dozing phone, and they always show a notification. The rest
// (announcements, grades, warnings, summaries) is "normal": delivered promptly unless
// the device is saving battery. Nothing is "low": every push shows a notification,
// which push services expect only of normal or high.
func urgencyOf(typ, severity string) Urgency {
	switch {
	case typ == "video_complete", typ == "video_failed", severity == "error":
		return UrgencyHigh
	default:
		return UrgencyNormal
	}
}

// pushTTL is how long the push service should keep the message: the configured TTL,
// cut to the notification's expires_at so it is never shown after that. ok is false
// when it has already expired.
func pushTTL(ttl time.Duration, expires, now time.Time) (time.Duration, bool) {
	if expires.IsZero() {
		return ttl, true
	}
	left := expires.Sub(now).Truncate(time.Second)
	if left <= 0 {
		return 0, false
	}
	return min(ttl, left), true
}

// summary is the plaintext of a window's closing push: a notification-shaped document
// the service worker shows like any other ("3 new notifications"). ID is the newest
// notification counted, so a click can open history at the right place.
type summary struct {
	ID        string                 `json:"id"`
	Type      string                 `json:"type"`
	Severity  string                 `json:"severity"`
	Title     string                 `json:"title"`
	Count     int                    `json:"count"`
	CreatedAt notification.Timestamp `json:"created_at"`
}

func summaryPayload(count int, lastID string, now time.Time) []byte {
	title := strconv.Itoa(count) + " new notifications"
	if count == 1 {
		title = "1 new notification"
	}
	b, _ := json.Marshal(summary{ID: lastID, Type: SummaryType, Severity: "info", Title: title,
		Count: count, CreatedAt: notification.Timestamp{Time: now}}) // plain fields: cannot fail
	return b
}

// fitPayload returns data if it fits in one push. Otherwise it drops the long text
// fields (body, error) and marks the document "truncated": the service worker still
// shows the title and link, and the full text is in history.
func fitPayload(data []byte) ([]byte, error) {
	if len(data) <= MaxPayload {
		return data, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("notification json: %w", err)
	}
	delete(fields, "body")
	delete(fields, "error")
	fields["truncated"] = json.RawMessage("true")
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxPayload {
		return nil, fmt.Errorf("notification of %d bytes does not fit a push even without its body", len(data))
	}
	return out, nil
}

// topicFor names a coalescing window for RFC 8030's Topic header: 22 base64url
// characters (the limit is 32). It is keyed with the VAPID private key so the push
// service learns neither the user ID nor which pushes belong to the same user across
// windows.
func topicFor(key []byte, user string, windowStart int64) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write(strconv.AppendInt(nil, windowStart, 10))
	return b64(mac.Sum(nil)[:16])
}
