package broker

import (
	"context"
	"encoding/json"
	"fmt"
)

// Inbox is the seen and archived state beside read state (docs/PROTOCOL.md "Seen and
// archived"). It is a separate interface, not part of Broker, so a broker (or a test
// double) without it still builds; both brokers of this repository implement it and
// pass the same contract clauses (brokertest).
//
// Like read state it lives per user and per log the user reads (own, group,
// broadcast), as long as the log's entries, with no key per notification and no scan.
type Inbox interface {
	// MarkSeen records that userID has seen m's notifications (the same rules as
	// MarkRead: ids of logs not in m.Logs and ids not held are ignored; an invalid m is
	// an error wrapping ErrInvalid) and hands a ControlInbox with op "seen" to userID's
	// live delivery when anything was marked (always for All). Idempotent.
	MarkSeen(ctx context.Context, userID string, m ReadMark) error
	// SetArchived archives (archived true) or unarchives ids of userID's own log and of
	// logs, then hands a ControlInbox with op "archive" or "unarchive" listing the ids
	// it applied to. Ids the logs do not hold are ignored when archiving. Idempotent.
	// ids follow ReadMark's rules for ids (1–MaxReadIDs well-formed ids).
	SetArchived(ctx context.Context, userID string, logs []string, ids []string, archived bool) error
	// MarkUnread undoes userID's reads of m.IDs (of userID's own log and of m.Logs; m.All
	// is refused with ErrInvalid, as is an invalid m): each becomes unread, whether it
	// was read one by one or by a mark of all, and no other notification changes; a
	// later MarkRead of it, or of all, reads it again. It then hands a ControlInbox with
	// op "unread" listing the ids the logs hold (ids not held are ignored). Idempotent.
	MarkUnread(ctx context.Context, userID string, m ReadMark) error
	// InboxState reports, for each of ids, whether userID saw it and archived it, and
	// how many notifications of userID's own log and of logs userID has not seen.
	InboxState(ctx context.Context, userID string, logs []string, ids []string) (InboxState, error)
}

// InboxState is the answer of Inbox.InboxState.
type InboxState struct {
	Seen, Archived []bool
	Unseen         int
}

// The ops of an `event: inbox` frame.
const (
	OpSeen      = "seen"
	OpArchive   = "archive"
	OpUnarchive = "unarchive"
	OpUnread    = "unread"
)

// ControlInbox: the user changed seen or archived state. Data is the `event: inbox`
// frame's data (InboxData).
const ControlInbox ControlKind = "inbox"

// ValidUnread checks an unread request as ReadMark.Validate does, and refuses All (an
// unread of everything is not a thing a user asks for). Errors wrap ErrInvalid.
func ValidUnread(m ReadMark) (ReadMark, error) {
	if m.All {
		return m, fmt.Errorf("%w: unread takes ids, not all", ErrInvalid)
	}
	return m.Validate()
}

// InboxData is the data of an `event: inbox` frame: {"op":…,"ids":[…]} or
// {"op":…,"all":true}. ids must be well-formed notification ids.
func InboxData(op string, ids []string, all bool) []byte {
	v := struct {
		Op  string   `json:"op"`
		IDs []string `json:"ids,omitempty"`
		All bool     `json:"all,omitempty"`
	}{op, ids, all}
	b, _ := json.Marshal(v)
	return b
}

// ValidArchive checks the ids of an archive or unarchive request as ReadMark.Validate
// checks ids: 1–MaxReadIDs well-formed notification ids. It returns them deduplicated;
// errors wrap ErrInvalid.
func ValidArchive(ids []string) ([]string, error) {
	m, err := ReadMark{IDs: ids}.Validate()
	return m.IDs, err
}
