package notification

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// announcementIn is message.data as it arrives. Pointers tell a missing field (or
// null) from an empty one; the audience is read key by key (readAudience).
type announcementIn struct {
	Type, Severity, Title, Body, Link, ExpiresAt *string
	SendAt, ScheduleKey                          *string
	Audience                                     json.RawMessage
	Mandatory                                    json.RawMessage
}

// readFields reads the top-level object. Names match exactly, as in the contract (not
// case-insensitively, as encoding/json would match struct fields), so every consumer
// of the JSON agrees on what it says; of a repeated name the last counts. Unknown
// fields are ignored, so publishers can add fields before this function reads them.
func readFields(data []byte) (announcementIn, error) {
	var in announcementIn
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil { // trailing data is a syntax error too
		return in, refuse("message.data is not a JSON announcement: %s", jsonError(err))
	}
	for _, f := range []struct {
		name string
		to   **string
	}{{"type", &in.Type}, {"severity", &in.Severity}, {"title", &in.Title}, {"body", &in.Body}, {"link", &in.Link}, {"expires_at", &in.ExpiresAt},
		{"send_at", &in.SendAt}, {"schedule_key", &in.ScheduleKey}} {
		raw, ok := fields[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return in, refuse("%s must be a string", f.name)
		}
		*f.to = &s
	}
	in.Audience = fields["audience"]
	in.Mandatory = fields["mandatory"]
	return in, nil
}

// ParseAnnouncement decodes the JSON of a `notifications` message.data (docs/PROTOCOL.md
// "Input: notifications from any service"), refuses what cannot be routed or shown
// safely, and cleans the display text. It returns the announcement and what cleaning
// changed. Every error wraps ErrInvalid (the function acknowledges it: retrying cannot
// help) with a reason that names the field and the rule, never the value.
//
// Refused: data that is empty, over 64 KiB or not one JSON object; a missing or
// malformed type ([a-z][a-z0-9_]{0,39}) or a reserved one (Type.Reserved); a severity
// other than info, success, warning or error; an audience that is not exactly one of
// {"users":[…]} (1–1000 user ids), {"groups":[…]} (1–100 group ids) or {"all":true},
// or that holds an invalid id or an unknown key; a title that is missing or blank; a
// link that is not an absolute https URL (at most 2048 bytes, no credentials); an
// expires_at or send_at that is not an RFC 3339 time; a schedule_key that is not
// 1-128 characters of [A-Za-z0-9_.:-] or comes without send_at; a mandatory that is not a boolean, or true
// with a severity other than warning or error.
//
// Clamped: an expires_at later than 9999-12-31T23:59:59.999Z (MaxTime, once in UTC)
// becomes MaxTime, which is what such a time means (never).
//
// Cleaned, never refused (as the job's title and error): title (300 characters) and
// body (2000) become one line of valid UTF-8 — each run of control characters (newlines
// included) a space, invalid UTF-8 U+FFFD, text over the limit cut at a character
// boundary with "…". Whitespace around the link is trimmed.
//
// Lenient where producers differ: a missing severity, or "", is info; "" for body, link
// or expires_at is the same as leaving it out (Go producers encode unset strings so);
// duplicate ids in users or groups are delivered once. An expires_at in the past is
// not refused here: Expired tells the caller, which decides at its own clock.
func ParseAnnouncement(data []byte) (Announcement, AnnouncementCleaned, error) {
	var c AnnouncementCleaned
	switch t := bytes.TrimLeft(data, " \t\r\n"); {
	case len(data) == 0:
		return Announcement{}, c, refuse("message.data is empty")
	case len(data) > MaxDataBytes:
		return Announcement{}, c, refuse("message.data is %d bytes, over the %d byte limit", len(data), MaxDataBytes)
	case len(t) == 0 || t[0] != '{':
		return Announcement{}, c, refuse("message.data is not a JSON object")
	}
	in, err := readFields(data)
	if err != nil {
		return Announcement{}, c, err
	}

	var a Announcement
	if in.Type == nil || *in.Type == "" {
		return Announcement{}, c, refuse("type is required")
	}
	a.Type = Type(*in.Type)
	if a.Type.Reserved() {
		return Announcement{}, c, refuse("type %q is reserved", a.Type) // one of ours: safe to name
	}
	if !ValidAnnouncementType(a.Type) {
		return Announcement{}, c, refuse("type must match [a-z][a-z0-9_]{0,%d}", MaxTypeLen-1)
	}

	a.Severity = SeverityInfo
	if in.Severity != nil && *in.Severity != "" {
		a.Severity = Severity(*in.Severity)
		if !a.Severity.Valid() {
			return Announcement{}, c, refuse("severity must be info, success, warning or error")
		}
	}

	if len(in.Mandatory) > 0 && string(in.Mandatory) != "null" {
		if json.Unmarshal(in.Mandatory, &a.Mandatory) != nil {
			return Announcement{}, c, refuse("mandatory must be true or false")
		}
		if a.Mandatory && a.Severity != SeverityWarning && a.Severity != SeverityError {
			return Announcement{}, c, refuse("mandatory is only allowed with severity warning or error")
		}
	}

	if a.Audience, err = readAudience(in.Audience); err != nil {
		return Announcement{}, c, err
	}

	if in.Title != nil {
		a.Title, c.Title = cleanText(*in.Title, MaxTitleLen)
	}
	if a.Title == "" {
		return Announcement{}, c, refuse("title is required and must not be blank")
	}
	if in.Body != nil {
		a.Body, c.Body = cleanText(*in.Body, MaxBodyLen)
	}

	if in.Link != nil {
		a.Link = strings.Trim(*in.Link, " \t\r\n")
		if a.Link != *in.Link {
			c.Link = FixTrimmed
		}
		if a.Link != "" && !validVideoURL(a.Link) {
			return Announcement{}, c, refuse("link must be an absolute https URL of at most %d bytes, without credentials", MaxURLLen)
		}
	}

	if in.ExpiresAt != nil && *in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *in.ExpiresAt)
		if err != nil {
			return Announcement{}, c, refuse("expires_at must be an RFC 3339 time")
		}
		// Clamped, not refused: a time past MaxTime ("9999-12-31T23:59:59-05:00", a
		// non-UTC publisher's "never") means never, and stored as it is it would
		// encode as a five-digit year no reader parses.
		a.ExpiresAt = ClampTime(t)
	}
	if err := readSchedule(in, &a); err != nil {
		return Announcement{}, c, err
	}
	return a, c, nil
}

// readAudience reads the audience object: exactly one known key, with a valid value.
func readAudience(raw json.RawMessage) (Audience, error) {
	var none Audience
	if len(raw) == 0 || string(raw) == "null" {
		return none, refuse("audience is required")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return none, refuse("audience must be an object")
	}
	for k := range keys {
		if k != AudienceUsers && k != AudienceGroups && k != AudienceAll {
			// Not ignored like an unknown top-level field: an audience this function
			// does not understand cannot be routed.
			return none, refuse("audience has an unknown key; use one of users, groups, all")
		}
	}
	if len(keys) != 1 {
		return none, refuse("audience must hold exactly one of users, groups, all (it holds %d)", len(keys))
	}
	var a Audience
	var err error
	switch {
	case keys[AudienceUsers] != nil:
		a.Users, err = readIDs(keys[AudienceUsers], AudienceUsers, MaxAudienceUsers)
	case keys[AudienceGroups] != nil:
		a.Groups, err = readIDs(keys[AudienceGroups], AudienceGroups, MaxAudienceGroups)
	default:
		var all bool
		if json.Unmarshal(keys[AudienceAll], &all) != nil || !all {
			return none, refuse("audience.all must be true")
		}
		a.All = true
	}
	if err != nil {
		return none, err
	}
	return a, nil
}

// readIDs reads a list of 1–limit valid ids (ValidUserID's rules) and drops repeats,
// keeping the first of each.
func readIDs(raw json.RawMessage, field string, limit int) ([]string, error) {
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, refuse("audience.%s must be an array of strings", field)
	}
	if len(ids) == 0 || len(ids) > limit {
		return nil, refuse("audience.%s must list 1-%d ids (it lists %d)", field, limit, len(ids))
	}
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for i, id := range ids {
		if !ValidUserID(id) {
			return nil, refuse("audience.%s[%d] is not a valid id (1-%d characters of [A-Za-z0-9_-])", field, i, MaxUserIDLen)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// jsonError describes a JSON error without quoting the input back: reasons end up in
// logs, and the input is untrusted.
func jsonError(err error) string {
	if syn := (*json.SyntaxError)(nil); errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	return "malformed JSON"
}
