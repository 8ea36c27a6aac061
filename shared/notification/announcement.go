package notification

import (
	"fmt"
	"iter"
	"log/slog"
	"time"
)

// Limits on an announcement (docs/PROTOCOL.md "Input 2: notifications from any service"). Text
// limits count characters (runes), as the job's do (see Clean).
const (
	MaxTypeLen        = 40
	MaxBodyLen        = 2000
	MaxAudienceUsers  = 1000
	MaxAudienceGroups = 100 // equals broker.MaxGroups, the most groups a stream follows
)

// SummaryType is the type of the push worker's coalesced Web Push message; like the
// job types, reset and read, an announcement may not take it.
const SummaryType Type = "summary"

// reservedTypes are the types other parts of the system give a meaning: the SSE
// control frames (reset), read marks (read), the job notifications and the push
// worker's summary, and cancel (which withdraws a scheduled notification). A service that could send them could fake a job outcome or a
// stream reset. error, open and message are EventSource's own events: a frame with
// `event: error` fires the client's onerror (which runs the ticket flow again), `open`
// its onopen, `message` its onmessage.
var reservedTypes = map[Type]bool{"reset": true, "read": true, VideoComplete: true, VideoFailed: true, SummaryType: true,
	"error": true, "open": true, "message": true, CancelType: true}

// Reserved reports whether t is a type that only this system may send.
func (t Type) Reserved() bool { return reservedTypes[t] }

// ValidAnnouncementType reports whether t may name an announcement's type:
// [a-z][a-z0-9_]{0,39} and not reserved.
func ValidAnnouncementType(t Type) bool {
	if len(t) == 0 || len(t) > MaxTypeLen || t[0] < 'a' || t[0] > 'z' || t.Reserved() {
		return false
	}
	for i := 1; i < len(t); i++ {
		if c := t[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool {
	switch s {
	case SeverityInfo, SeveritySuccess, SeverityWarning, SeverityError:
		return true
	}
	return false
}

// Audience is who an announcement is for: exactly one of Users (1–1000 user ids),
// Groups (1–100 group ids) or All. Ids are valid (ValidUserID's rules, for groups too:
// they become part of Redis names) and each appears once, in the order first given.
type Audience struct {
	Users  []string
	Groups []string
	All    bool
}

// The audience kinds, as the JSON names them; also a log attribute and metric label.
const (
	AudienceUsers  = "users"
	AudienceGroups = "groups"
	AudienceAll    = "all"
)

// Kind names the audience's kind: AudienceUsers, AudienceGroups or AudienceAll.
func (a Audience) Kind() string {
	switch {
	case a.All:
		return AudienceAll
	case len(a.Groups) > 0:
		return AudienceGroups
	}
	return AudienceUsers
}

// Announcement is a notification from another service (grading, billing, operators):
// the decoded message.data of the `notifications` topic, refused or cleaned by
// ParseAnnouncement. Build values with ParseAnnouncement: its checks (type, severity,
// audience, link) are not repeated by Notification.
type Announcement struct {
	Type     Type
	Severity Severity
	Audience Audience
	// Title (required, ≤ 300 characters) and Body (≤ 2000) are cleaned text: one line
	// of valid UTF-8, cut with "…" when too long.
	Title, Body string
	// Link is an absolute https URL, or empty.
	Link string
	// ExpiresAt is when the announcement stops being sent, replayed or listed; zero
	// for never.
	ExpiresAt time.Time
	// Mandatory ignores the recipients' mutes and quiet hours; only with severity
	// warning or error.
	Mandatory bool
	// SendAt, when not zero, is when the announcement is to be delivered: nothing of
	// it is visible before. ScheduleKey, optional with SendAt, names it so a later
	// message with the same key replaces it and a cancel withdraws it.
	SendAt      time.Time
	ScheduleKey string
}

// Expired reports whether a must no longer be delivered at now. The function
// acknowledges an announcement that has expired before it arrives and delivers
// nothing (reason "expired"), as it does for a stale job event.
func (a Announcement) Expired(now time.Time) bool {
	return !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt)
}

// Notification makes the notification every recipient of a gets, created at now
// (millisecond precision, as the SSE contract shows). The display fields are cleaned
// again (cleaning is idempotent) and a link that is not an absolute https URL is left
// out, so no caller can put a control character or an unsafe link into a notification
// by building an Announcement by hand.
func (a Announcement) Notification(now time.Time) Notification {
	title, _ := cleanText(a.Title, MaxTitleLen)
	body, _ := cleanText(a.Body, MaxBodyLen)
	link := a.Link
	if link != "" && !validVideoURL(link) {
		link = ""
	}
	sev := a.Severity
	if sev == "" {
		sev = SeverityInfo
	}
	n := Notification{Type: a.Type, Severity: sev, Title: title, Text: body, Link: link,
		CreatedAt: Timestamp{now.UTC().Truncate(time.Millisecond)}, Mandatory: a.Mandatory}
	if !a.ExpiresAt.IsZero() {
		n.ExpiresAt = &Timestamp{a.ExpiresAt.UTC()}
	}
	return n
}

// LogValue implements slog.LogValuer: what routes the announcement, never its text or
// its recipients' ids.
func (a Announcement) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", string(a.Type)), slog.String("severity", string(a.Severity)),
		slog.String("audience", a.Audience.Kind())}
	if a.Mandatory {
		attrs = append(attrs, slog.Bool("mandatory", true))
	}
	switch a.Audience.Kind() {
	case AudienceUsers:
		attrs = append(attrs, slog.Int("users", len(a.Audience.Users)))
	case AudienceGroups:
		attrs = append(attrs, slog.Int("groups", len(a.Audience.Groups)))
	}
	return slog.GroupValue(attrs...)
}

// AnnouncementCleaned records what ParseAnnouncement changed in the display fields.
// The zero value means nothing.
type AnnouncementCleaned struct {
	Title, Body, Link Fix
}

// Any reports whether anything was changed.
func (c AnnouncementCleaned) Any() bool { return c != AnnouncementCleaned{} }

// All yields each changed field's JSON name and its changes, in a fixed order.
func (c AnnouncementCleaned) All() iter.Seq2[string, Fix] {
	return func(yield func(string, Fix) bool) {
		for _, f := range [...]struct {
			name string
			fix  Fix
		}{{"title", c.Title}, {"body", c.Body}, {"link", c.Link}} {
			if f.fix != 0 && !yield(f.name, f.fix) {
				return
			}
		}
	}
}

// LogValue implements slog.LogValuer: a group of field → changes, never the values.
func (c AnnouncementCleaned) LogValue() slog.Value {
	var attrs []slog.Attr
	for name, fix := range c.All() {
		attrs = append(attrs, slog.String(name, fix.String()))
	}
	return slog.GroupValue(attrs...)
}

// refused is the error of an announcement ParseAnnouncement refuses. It is
// ErrInvalid (errors.Is), the permanent-error kind of the job path, so the function
// treats both alike; its text names the field and the rule, never the value.
type refused struct{ reason string }

func (e *refused) Error() string        { return "invalid announcement: " + e.reason }
func (e *refused) Is(target error) bool { return target == ErrInvalid }

func refuse(format string, args ...any) error {
	return &refused{reason: fmt.Sprintf(format, args...)}
}
