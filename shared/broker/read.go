package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// ErrInvalid is matched (errors.Is) by errors about input the caller must fix: a
// ReadMark or Prefs that breaks the rules below. The server answers them with 400.
var ErrInvalid = errors.New("invalid input")

// MaxReadIDs is the most ids one ReadMark may carry.
const MaxReadIDs = 200

// ReadMark says what a user has read: the notifications IDs, or (All) every
// notification of the user's logs at the time of marking. Exactly one of the two.
type ReadMark struct {
	IDs []string
	All bool
	// Logs are the other logs the user reads (Everyone, GroupSource(g)…), as the
	// caller knows them from the user's token: All covers them, and ids of logs not
	// listed are ignored.
	Logs []string
}

// Validate checks m: either All alone, or 1–MaxReadIDs well-formed notification ids (of
// any log: SplitItemID). It returns m with duplicate ids removed (first occurrence
// kept). Errors wrap ErrInvalid.
func (m ReadMark) Validate() (ReadMark, error) {
	switch {
	case m.All && m.IDs != nil:
		return m, fmt.Errorf("%w: give ids or all, not both", ErrInvalid)
	case m.All:
		return ReadMark{All: true, Logs: m.Logs}, nil
	case len(m.IDs) == 0:
		return m, fmt.Errorf("%w: give 1 to %d ids, or all", ErrInvalid, MaxReadIDs)
	case len(m.IDs) > MaxReadIDs:
		return m, fmt.Errorf("%w: at most %d ids at once", ErrInvalid, MaxReadIDs)
	}
	seen := make(map[string]bool, len(m.IDs))
	ids := make([]string, 0, len(m.IDs))
	for i, id := range m.IDs {
		if _, _, _, err := SplitItemID(id); err != nil {
			return m, fmt.Errorf("%w: ids[%d] is not a notification id", ErrInvalid, i)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ReadMark{IDs: ids, Logs: m.Logs}, nil
}

// ReadData is the JSON a read control carries, the data of the SSE `event: read`
// frame: {"ids":[…]} or {"all":true}. ids must be well-formed notification ids (plain
// ASCII).
func ReadData(ids []string, all bool) []byte {
	if all {
		return []byte(`{"all":true}`)
	}
	b, _ := json.Marshal(struct {
		IDs []string `json:"ids"`
	}{ids})
	return b
}

// Preferences (docs/PROTOCOL.md "Endpoints").
const (
	// MaxMutedTypes is the most types a user may mute.
	MaxMutedTypes = 50
	// PrefsTTL is how long stored preferences live after their last change.
	PrefsTTL = 400 * 24 * time.Hour
)

// typeName is the shape of a notification type (docs/PROTOCOL.md "Input 2").
var typeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// reservedTypes name the stream's own events, never a notification: they cannot be muted.
var reservedTypes = map[string]bool{"reset": true, "read": true}

// Prefs are a user's notification preferences. The zero value is not the default:
// use DefaultPrefs (push on, nothing muted).
type Prefs struct {
	// MutedTypes are kept in history but not sent on the stream, live or replayed, and
	// not pushed. Sorted, without duplicates, never nil once normalised.
	MutedTypes []string `json:"muted_types"`
	// Push allows Web Push when the user has no open stream.
	Push bool `json:"push"`
	// PushMutedTypes are shown in the app (stream, history) but never pushed. Sorted,
	// without duplicates, never nil once normalised.
	PushMutedTypes []string `json:"push_muted_types"`
	// QuietHours, when set, hold pushes during a daily window and summarise them once
	// it ends. nil: no quiet hours.
	QuietHours *QuietHours `json:"quiet_hours"`
}

// DefaultPrefs are a user's preferences until they store their own.
func DefaultPrefs() Prefs {
	return Prefs{MutedTypes: []string{}, Push: true, PushMutedTypes: []string{}}
}

// Normalize checks p and returns it sorted and deduplicated. Any well-formed type name
// ([a-z][a-z0-9_]{0,39}) may be muted — the job types and whatever other services
// publish, today's or tomorrow's — except the stream's own events (reset, read); at
// most MaxMutedTypes entries. Errors wrap ErrInvalid and do not repeat the input.
func (p Prefs) Normalize() (Prefs, error) {
	muted, err := normalizeTypes("muted_types", p.MutedTypes)
	if err != nil {
		return p, err
	}
	pushMuted, err := normalizeTypes("push_muted_types", p.PushMutedTypes)
	if err != nil {
		return p, err
	}
	out := Prefs{MutedTypes: muted, Push: p.Push, PushMutedTypes: pushMuted}
	if p.QuietHours != nil {
		if err := p.QuietHours.Validate(); err != nil {
			return p, err
		}
		q := *p.QuietHours
		out.QuietHours = &q
	}
	return out, nil
}

// normalizeTypes checks a list of type names (field names it in errors) and returns
// it sorted, deduplicated and never nil.
func normalizeTypes(field string, types []string) ([]string, error) {
	if len(types) > MaxMutedTypes {
		return nil, fmt.Errorf("%w: at most %d %s", ErrInvalid, MaxMutedTypes, field)
	}
	out := make([]string, 0, len(types))
	for i, t := range types {
		if !typeName.MatchString(t) {
			return nil, fmt.Errorf("%w: %s[%d] is not a type name ([a-z][a-z0-9_]{0,39})", ErrInvalid, field, i)
		}
		if reservedTypes[t] {
			return nil, fmt.Errorf("%w: %s[%d] is a stream event, not a notification type", ErrInvalid, field, i)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// PushMuted reports whether notifications of type t are not to be pushed: muted, or
// muted for push only.
func (p Prefs) PushMuted(t string) bool {
	_, found := slices.BinarySearch(p.PushMutedTypes, t)
	return found || p.Muted(t)
}

// Muted reports whether notifications of type t are muted.
func (p Prefs) Muted(t string) bool {
	_, found := slices.BinarySearch(p.MutedTypes, t)
	return found
}

// ParsePrefs reads stored preferences (as encoded by json.Marshal of a normalised
// Prefs). An empty input gives the defaults. It is lenient with what it cannot use, so a
// document stored under other rules never locks a user out: unknown fields and muted
// types the rules refuse now are dropped, and only JSON that does not parse is an
// error (with the defaults).
func ParsePrefs(data []byte) (Prefs, error) {
	if len(data) == 0 {
		return DefaultPrefs(), nil
	}
	p := DefaultPrefs()
	if err := json.Unmarshal(data, &p); err != nil {
		return DefaultPrefs(), fmt.Errorf("parse stored preferences: %w", err)
	}
	usable := func(types []string) []string {
		types = slices.DeleteFunc(types, func(t string) bool { return !typeName.MatchString(t) || reservedTypes[t] })
		return types[:min(len(types), MaxMutedTypes)]
	}
	p.MutedTypes, p.PushMutedTypes = usable(p.MutedTypes), usable(p.PushMutedTypes)
	if p.QuietHours != nil && p.QuietHours.Validate() != nil {
		p.QuietHours = nil // a zone this build no longer knows: push rather than hold for ever
	}
	return p.Normalize()
}

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
