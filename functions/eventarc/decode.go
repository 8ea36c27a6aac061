// Package eventarc decodes what Eventarc delivers to the function: a Pub/Sub
// messagePublished CloudEvent (binary or structured mode) or a plain Pub/Sub push body,
// and builds push bodies for local tools. Only the function links the CloudEvents SDK.
package eventarc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/vividly-edu/notifications/shared/notification"
)

// EventType is the CloudEvent type Eventarc gives a Pub/Sub delivery.
const EventType = "google.cloud.pubsub.topic.v1.messagePublished"

// Message is one decoded job event as it arrived from Pub/Sub: routable (valid user_id
// and status) and cleaned.
type Message struct {
	// ID is the Pub/Sub message ID, the key that makes redelivery idempotent.
	ID          string
	PublishTime time.Time
	// Job is the job with its display fields cleaned (notification.Job.Clean).
	Job notification.Job
	// Cleaned says what cleaning changed or dropped, for the function's WARN log.
	Cleaned notification.Cleaned
}

// pushBody is the data of an Eventarc Pub/Sub CloudEvent, which is also the body of a
// plain Pub/Sub push request. Real deliveries carry camelCase and snake_case copies of
// some fields; either is accepted.
type pushBody struct {
	Message *pushMessageIn `json:"message"`
}

// pushMessageIn is the message of a push body as DecodePush reads it.
type pushMessageIn struct {
	Data             []byte `json:"data"` // base64 in JSON; encoding/json decodes it
	MessageID        string `json:"messageId"`
	MessageIDSnake   string `json:"message_id"`
	PublishTime      string `json:"publishTime"`
	PublishTimeSnake string `json:"publish_time"`
}

// Delivery is one Pub/Sub message as Eventarc delivered it, before its data is read:
// what every entry point shares. Each entry point reads Data its own way (DecodeJob for
// a job event, notification.ParseAnnouncement for an announcement).
type Delivery struct {
	// ID is the Pub/Sub message ID, the key that makes redelivery idempotent.
	ID          string
	PublishTime time.Time
	// Data is the decoded message.data.
	Data []byte
}

// DecodeEventDelivery reads the Pub/Sub message of an Eventarc CloudEvent (binary or
// structured mode; the Functions Framework turns a plain push body into one too). Every
// error wraps ErrInvalid: nothing in an event can become valid by retrying it.
func DecodeEventDelivery(e event.Event) (Delivery, error) {
	if e.Type() != EventType {
		return Delivery{}, invalid("event type %.100q is not %s", e.Type(), EventType)
	}
	return DecodeDelivery(e.Data(), e.ID())
}

// DecodeDelivery reads the message of a Pub/Sub push body: its id, publish time and
// data. fallbackID is used as the message ID when the body has none (the CloudEvent ID
// equals the Pub/Sub message ID). Every error wraps ErrInvalid.
func DecodeDelivery(body []byte, fallbackID string) (Delivery, error) {
	var p pushBody
	if !decodePushFast(body, &p) {
		p = pushBody{}
		if err := json.Unmarshal(body, &p); err != nil {
			return Delivery{}, invalid("body is not a Pub/Sub push message: %s", jsonReason(err))
		}
	}
	if p.Message == nil {
		return Delivery{}, invalid("body has no message")
	}
	m := p.Message
	id := firstNonEmpty(m.MessageID, m.MessageIDSnake, fallbackID)
	if id == "" || len(id) > notification.MaxMessageIDLen || !printableASCII(id) {
		return Delivery{}, invalid("message id must be 1-%d printable ASCII characters", notification.MaxMessageIDLen)
	}
	d := Delivery{ID: id, Data: m.Data}
	if ts := firstNonEmpty(m.PublishTime, m.PublishTimeSnake); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return Delivery{}, invalid("publishTime is not an RFC 3339 time")
		}
		d.PublishTime = t
	}
	return d, nil
}

// Job reads d's data as a job event (DecodeJob).
func (d Delivery) Job() (Message, error) {
	job, cleaned, err := DecodeJob(d.Data)
	if err != nil {
		return Message{}, err
	}
	return Message{ID: d.ID, PublishTime: d.PublishTime, Job: job, Cleaned: cleaned}, nil
}

// DecodeJob decodes the JSON of message.data, refuses what cannot be routed or
// understood (notification.Job.Validate) and cleans the rest: it returns the cleaned
// job and what cleaning changed. Display fields never make it fail.
func DecodeJob(data []byte) (notification.Job, notification.Cleaned, error) {
	var none notification.Cleaned
	if len(data) == 0 {
		return notification.Job{}, none, invalid("message.data is empty")
	}
	if len(data) > notification.MaxDataBytes {
		return notification.Job{}, none, invalid("message.data is %d bytes, over the %d byte limit", len(data), notification.MaxDataBytes)
	}
	var j notification.Job
	if !decodeJobFast(data, &j) {
		j = notification.Job{}
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&j); err != nil {
			return notification.Job{}, none, invalid("message.data is not a JSON job event: %s", jsonReason(err))
		}
		if dec.More() {
			return notification.Job{}, none, invalid("message.data has trailing data after the JSON object")
		}
	}
	if err := j.Validate(); err != nil {
		return notification.Job{}, none, err
	}
	j, cleaned := j.Clean()
	return j, cleaned, nil
}

// jsonReason describes a JSON error without quoting the input back: reasons end up in
// logs, and the input is untrusted.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var b64 base64.CorruptInputError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case errors.As(err, &b64):
		return "message.data is not valid base64"
	default:
		return "malformed JSON"
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// invalid wraps notification.ErrInvalid with a reason that names the field, never the
// input itself.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", notification.ErrInvalid, fmt.Sprintf(format, args...))
}
