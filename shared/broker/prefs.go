package broker

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

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

// Encode normalises p (Normalize) and encodes it: the document SetPreferences stores
// and sends as a ControlPrefs's data, and the preferences it returns.
func (p Prefs) Encode() (Prefs, []byte, error) {
	p, err := p.Normalize()
	if err != nil {
		return p, nil, err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return p, nil, fmt.Errorf("encode preferences: %w", err)
	}
	return p, data, nil
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
