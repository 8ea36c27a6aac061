package broker

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ControlKind names a control message.
type ControlKind string

// The control messages.
const (
	// ControlRead: the user marked notifications read. Data is the `event: read` frame's
	// data, {"ids":[…]} or {"all":true}.
	ControlRead ControlKind = "read"
	// ControlPrefs: the user changed their preferences. Data is the stored Prefs.
	ControlPrefs ControlKind = "prefs"
)

// Control is a message for a user's open streams that is not a notification: it has no
// log id, is not stored in the log, must not move a stream's position, and is not a
// resync. It travels on the user's live channel, in line with their notifications, so
// every instance's streams receive it in publishing order. Like all live delivery it is
// at most once (a lost pub/sub connection loses it; see Sink.Resync).
type Control struct {
	Kind ControlKind
	Data []byte // one line of JSON
}

// controlPrefix starts every control payload; a notification's starts with {"id":.
var controlPrefix = []byte(`{"ctl":"`)

// Payload encodes c for a user's pub/sub channel: {"ctl":"<kind>","data":<data>}.
// The Redis read script builds the same shape itself.
func (c Control) Payload() []byte {
	out := make([]byte, 0, len(c.Data)+32)
	out = append(out, controlPrefix...)
	out = append(out, c.Kind...)
	out = append(out, `","data":`...)
	out = append(out, c.Data...)
	return append(out, '}')
}

// IsControl reports whether a pub/sub payload is a control message rather than a
// notification.
func IsControl(payload []byte) bool { return bytes.HasPrefix(payload, controlPrefix) }

// ParseControl reads a payload IsControl accepted. Unknown kinds are an error, so a
// newer publisher's controls are dropped, not mistaken for something else.
func ParseControl(payload []byte) (Control, error) {
	var v struct {
		Ctl  ControlKind     `json:"ctl"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return Control{}, fmt.Errorf("parse control message: %w", err)
	}
	if v.Ctl != ControlRead && v.Ctl != ControlPrefs && v.Ctl != ControlInbox && v.Ctl != ControlErase || len(v.Data) == 0 {
		return Control{}, fmt.Errorf("parse control message: unknown kind or no data")
	}
	var data bytes.Buffer
	if err := json.Compact(&data, v.Data); err != nil {
		return Control{}, fmt.Errorf("parse control message: %w", err)
	}
	return Control{Kind: v.Ctl, Data: data.Bytes()}, nil
}
