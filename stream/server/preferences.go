package server

import (
	"context"
	"net/http"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// preferences serves GET /api/v1/notifications/preferences (under api): the caller's
// {"muted_types":[…],"push":true|false}, the defaults ([] and true) until they store
// their own.
func (s *Server) preferences(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	p, err := s.broker.Preferences(r.Context(), id.UserID)
	if err != nil {
		return failed("preferences", err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// setPreferences serves PUT /api/v1/notifications/preferences (under api) with the
// whole document, muted_types and push required; push_muted_types (default []) and
// quiet_hours (default null: none) are optional, so an old client's document stays
// valid: 200 with what was stored (muted_types sorted,
// duplicates removed). 400 for unknown fields, a missing field, a muted type that is
// no type name ([a-z][a-z0-9_]{0,39}) or is a stream event (reset, read), more than
// 50 types, quiet hours that are not HH:MM or not in an IANA time zone; 413 over 64 KiB. Any well-formed type may be muted, not only today's: other
// services publish types of their own. Open streams of the user apply the change to
// the next notification (conn.control); Web Push reads it per message.
func (s *Server) setPreferences(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	var doc struct {
		MutedTypes     *[]string          `json:"muted_types"`
		Push           *bool              `json:"push"`
		PushMutedTypes []string           `json:"push_muted_types"`
		QuietHours     *broker.QuietHours `json:"quiet_hours"`
	}
	const shape = `body must be {"muted_types":["…"],"push":true|false,"push_muted_types":["…"],` +
		`"quiet_hours":{"start":"HH:MM","end":"HH:MM","time_zone":"<IANA name>"}|null}`
	if err := decodeBody(r, &doc, shape); err != nil {
		return err
	}
	if doc.MutedTypes == nil || doc.Push == nil {
		return badRequest(`"muted_types" and "push" are both required`)
	}
	p, err := s.broker.SetPreferences(r.Context(), id.UserID, broker.Prefs{MutedTypes: *doc.MutedTypes, Push: *doc.Push,
		PushMutedTypes: doc.PushMutedTypes, QuietHours: doc.QuietHours})
	if err != nil {
		return failed("set preferences", err) // broker.ErrInvalid: 400 with its text
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// PushPreferences gives the Web Push worker the users' preferences from b: push off
// when "push" is false, the muted and push-muted types, which are not pushed, and the
// quiet hours, during which pushes are held. A user
// without stored preferences gets push on, nothing muted.
func PushPreferences(b Broker) webpush.Preferences {
	return webpush.PreferencesFunc(func(ctx context.Context, user string) (webpush.PushPrefs, error) {
		p, err := b.Preferences(ctx, user)
		if err != nil {
			return webpush.PushPrefs{}, err
		}
		return webpush.PushPrefs{Off: !p.Push, Muted: p.MutedTypes, PushMuted: p.PushMutedTypes, Quiet: p.QuietHours}, nil
	})
}
