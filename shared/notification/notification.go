// Package notification defines the notification sent to browsers and the job event it
// is made from: which job events are refused (Validate) and how the fields a student
// sees are made safe to show (Clean). Decoding the Eventarc delivery that carries a job
// event lives with the function (functions/eventarc).
package notification

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Type names the kind of a notification; it is also the SSE `event:` field.
type Type string

// The notification types.
const (
	VideoComplete Type = "video_complete"
	VideoFailed   Type = "video_failed"
)

// Notification is what a user receives. ID is its position in the user's log, assigned
// when it is stored; it is empty before that.
//
// Job notifications (video_complete, video_failed) carry request_id, video_url and error;
// notifications from other services (docs/PROTOCOL.md "Input 2: notifications from any
// service") carry severity, body (Text), link and, optionally, expires_at.
type Notification struct {
	ID        string    `json:"id,omitempty"`
	Type      Type      `json:"type"`
	Severity  Severity  `json:"severity,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	VideoURL  string    `json:"video_url,omitempty"`
	Title     string    `json:"title,omitempty"`
	Text      string    `json:"body,omitempty"` // the "body" of an announcement
	Link      string    `json:"link,omitempty"`
	Error     string    `json:"error,omitempty"`
	CreatedAt Timestamp `json:"created_at"`
	// ExpiresAt, when set, is when the notification stops being sent, replayed or
	// listed.
	ExpiresAt *Timestamp `json:"expires_at,omitempty"`
	// Mandatory (an announcement of severity warning or error only) ignores the user's
	// mutes and quiet hours: an exam moved must reach the student.
	Mandatory bool `json:"mandatory,omitempty"`
}

// Severity grades a notification from another service; the client styles by it.
type Severity string

// The severities (docs/PROTOCOL.md); an announcement without one is SeverityInfo.
const (
	SeverityInfo    Severity = "info"
	SeveritySuccess Severity = "success"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Timestamp is a UTC time that encodes with millisecond precision, as browsers' Date
// parses it and as the SSE contract shows.
type Timestamp struct{ time.Time }

const timestampLayout = "2006-01-02T15:04:05.000Z"

// The range a Timestamp encodes: RFC 3339 has four-digit years, so a time outside it
// would encode as text no reader parses back (a five-digit year once made every
// history page fail). Times outside it encode as the nearest bound.
var (
	MinTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

// ClampTime returns t in UTC, moved to MinTime or MaxTime when it is outside them.
func ClampTime(t time.Time) time.Time {
	switch t = t.UTC(); {
	case t.Before(MinTime):
		return MinTime
	case t.After(MaxTime):
		return MaxTime
	}
	return t
}

// MarshalJSON implements json.Marshaler. Whatever t holds, the result parses back
// (UnmarshalJSON): it is t clamped to [MinTime, MaxTime], cut to the millisecond.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timestampLayout)+2)
	b = append(b, '"')
	b = ClampTime(t.Time).AppendFormat(b, timestampLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	t.Time = v.UTC()
	return nil
}

// Body encodes n without its ID: the form in which it is stored before the log assigns
// the ID. WithID turns a body into the full JSON. The JSON is always one line: encoding/json
// escapes every control character, and (with its default HTML escaping) U+2028 and
// U+2029, so no field can put a line break into an SSE frame.
func (n Notification) Body() ([]byte, error) {
	n.ID = ""
	return json.Marshal(n)
}

// WithID returns the JSON of a stored notification: body (an object, as Body makes it)
// with "id" as its first field. The memory broker builds every payload this way and the
// Redis broker its log reads; the Redis broker's live payload is built by its publish
// script instead (redisbroker publishScript), to the same bytes because item ids are
// plain ASCII. The contract suite checks that live and stored bytes agree (brokertest,
// liveDeliveryReachesOnlySubscribed), so a notification has the same bytes however it
// arrives. Log IDs are plain ASCII ("1764174645123-0") and are copied as they are; any
// other id is JSON-encoded, so the result stays one line of valid JSON whatever id holds.
func WithID(id string, body []byte) []byte {
	rest := bytes.TrimPrefix(body, []byte("{"))
	out := make([]byte, 0, len(body)+len(id)+8)
	out = append(out, `{"id":`...)
	if plainID(id) {
		out = append(out, '"')
		out = append(out, id...)
		out = append(out, '"')
	} else {
		quoted, _ := json.Marshal(id) // a string always encodes
		out = append(out, quoted...)
	}
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// plainID reports whether id can go into JSON between quotes as it is.
func plainID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Envelope is a stored notification as the stream delivers it: the log ID, the type and
// the full JSON, encoded once and shared by every connection that receives it.
type Envelope struct {
	ID   string
	Type Type
	Data []byte
	// CreatedAt is when the function created the notification, for latency metrics.
	CreatedAt time.Time
	// ExpiresAt, when not zero, is when the notification stops being delivered or listed.
	ExpiresAt time.Time
	// Mandatory notifications are sent even when their type is muted.
	Mandatory bool
}

// Expired reports whether e must no longer be sent or listed at now.
func (e Envelope) Expired(now time.Time) bool {
	return !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt)
}

// ParseEnvelope reads the JSON of a stored notification (as WithID makes it).
func ParseEnvelope(data []byte) (Envelope, error) {
	var n Notification
	if err := json.Unmarshal(data, &n); err != nil {
		return Envelope{}, fmt.Errorf("parse stored notification: %w", err)
	}
	if n.ID == "" || n.Type == "" {
		return Envelope{}, fmt.Errorf("parse stored notification: missing id or type")
	}
	e := Envelope{ID: n.ID, Type: n.Type, Data: data, CreatedAt: n.CreatedAt.Time, Mandatory: n.Mandatory}
	if n.ExpiresAt != nil {
		e.ExpiresAt = n.ExpiresAt.Time
	}
	return e, nil
}
