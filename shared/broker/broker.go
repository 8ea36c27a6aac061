// Package broker declares the broker contract (Broker, Sink) and holds what every
// implementation shares: the resume rules of a user's log, the limits of that log, and
// Memory, the in-process implementation used by `make run` and unit tests. The Redis
// implementation is shared/redisbroker; shared/broker/brokertest is the contract suite
// both pass.
package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Limits bound a user's log and the dedupe memory.
type Limits struct {
	// MaxLen is how many notifications a user's log keeps.
	MaxLen int64
	// Retention is how long a notification stays in the log.
	Retention time.Duration
	// DedupeTTL is how long a Pub/Sub message ID is remembered. It must outlast every
	// redelivery; the function drops events older than that, so a late duplicate is
	// never stored twice.
	DedupeTTL time.Duration
}

// DefaultLimits: 30 days or 1,000 notifications per user; message IDs remembered 25 h
// (Eventarc retries for at most 24 h).
var DefaultLimits = Limits{MaxLen: 1000, Retention: 30 * 24 * time.Hour, DedupeTTL: 25 * time.Hour}

// Validate reports a limit that cannot work.
func (l Limits) Validate() error {
	if l.MaxLen < 1 || l.Retention < time.Second || l.DedupeTTL < time.Second {
		return fmt.Errorf("broker limits must be positive: %+v", l)
	}
	return nil
}

// CheckRange refuses a position history cannot page from: rediskey.Max, after which
// nothing can exist. The error wraps rediskey.ErrBadStreamID.
func CheckRange(pos rediskey.StreamID) error {
	if pos == rediskey.Max {
		return fmt.Errorf("%w: nothing follows the largest id", rediskey.ErrBadStreamID)
	}
	return nil
}

// ErrInvalid is matched (errors.Is) by errors about input the caller must fix: a
// ReadMark or Prefs that breaks its rules (readmark.go, prefs.go). The server answers
// them with 400.
var ErrInvalid = errors.New("invalid input")

// ErrReset is matched (errors.Is) by a *ResetError.
var ErrReset = errors.New("cannot resume from that id")

// ResetError says a client's last event ID cannot be resumed from without loss, or is
// not an ID of its log. The client must start again from Newest and refetch history.
type ResetError struct {
	// Reason is "unknown" or "expired" from a broker; the stream says "malformed" for
	// a cursor it cannot parse.
	Reason string
	Newest rediskey.StreamID // the newest ID of the log, Zero when it is empty
	Oldest rediskey.StreamID // the oldest ID still held, Zero when it is empty
}

func (e *ResetError) Error() string {
	return fmt.Sprintf("cannot resume: %s id (newest %s, oldest %s)", e.Reason, e.Newest, e.Oldest)
}

// Is makes errors.Is(err, ErrReset) true.
func (e *ResetError) Is(target error) bool { return target == ErrReset }

// LogState is what a log knows about its own history, enough to decide whether a client
// can resume from an ID.
type LogState struct {
	Exists bool
	// LastGenerated is the newest ID ever assigned; MaxDeleted the newest ID removed by
	// trimming; First the oldest ID held (Zero when the log is empty).
	LastGenerated, MaxDeleted, First rediskey.StreamID
}

// CheckResume decides whether a client that last saw after can resume from st without
// loss: it can when nothing after after was trimmed (after >= MaxDeleted) and after was
// issued (after <= LastGenerated). Otherwise it returns a *ResetError.
func CheckResume(after rediskey.StreamID, st LogState) error {
	reset := func(reason string) error {
		if !st.Exists {
			return &ResetError{Reason: reason} // Newest and Oldest Zero: nothing is held
		}
		return &ResetError{Reason: reason, Newest: st.LastGenerated, Oldest: st.First}
	}
	switch {
	case !st.Exists && after != rediskey.Zero:
		return reset("unknown") // never issued, or the whole log expired
	case !st.Exists:
		return nil
	case after.Compare(st.LastGenerated) > 0:
		return reset("unknown")
	case after.Compare(st.MaxDeleted) < 0:
		return reset("expired")
	}
	return nil
}
