package broker

import (
	"context"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// The broker contract stores each log's notifications (a user's, a group's, the
// broadcast log: see Sources) and carries them live between processes. It is split by
// consumer, and each consumer takes the narrowest part it uses: the function and the
// stream's releaser take a Publisher, the hub a Feed, and the stream service the set
// it declares (stream/server's Broker: everything but Publisher). Broker embeds every
// part: Memory and redisbroker.Broker implement it and pass the same suite
// (brokertest).
//
// Every method is safe for concurrent use. Ids are the positions of a log: they only
// grow, and the id a notification is stored under is the id it is delivered under,
// live or replayed.

// Broker is the whole contract, what an implementation provides.
type Broker interface {
	Publisher
	Feed
	LogReader
	Reads
	Preferences
	Ready
}

// Publisher writes notifications: the function's notifier and the stream's releaser of
// scheduled notifications.
type Publisher interface {
	// Publish stores n in source's log and hands it to live delivery, unless messageID
	// was already stored for source, in which case nothing changes and it returns the
	// first one's id with dup true. Storing, marking messageID seen and publishing are
	// one atomic step: an error means nothing was stored (the caller may retry), and a
	// marker never exists without its entry.
	Publish(ctx context.Context, source, messageID string, n notification.Notification) (id string, dup bool, err error)
}

// Feed is live delivery, what the stream's hub uses.
type Feed interface {
	// Run delivers live notifications for every subscribed log to sink until ctx
	// ends, then returns nil; a non-nil error means it could not run at all. Only one
	// Run at a time. Live delivery is at most once: a notification published while
	// the broker's connection is down is not delivered live, and Run then calls
	// sink.Resync before the next delivery so consumers replay it from the log (see
	// Sink). The caller owns sink, and must not close the broker (Close, on
	// implementations that have one) before Run has returned.
	Run(ctx context.Context, sink Sink) error

	// Subscribe starts live delivery for source and returns once it has started: a
	// notification published after Subscribe returned reaches Run's sink (connection
	// loss aside, which Resync covers). It waits for Run to be running. On error
	// (ctx ended) the subscription may or may not have been taken and no waiter is
	// left behind; the caller balances every Subscribe, failed or not, with one
	// Unsubscribe. Subscriptions are per process, not counted: the caller (the hub)
	// subscribes a log once, however many connections read it.
	Subscribe(ctx context.Context, source string) error

	// Unsubscribe stops live delivery for source; unknown sources are a no-op. A
	// notification already in flight may still reach the sink after it returns, so
	// sinks ignore sources they no longer track. An error means the subscription could
	// not be dropped on the current connection; it lapses when that connection is
	// replaced, and is harmless meanwhile (the sink ignores the source).
	Unsubscribe(ctx context.Context, source string) error
}

// LogReader reads logs by position: the stream's replay and the history endpoint.
// Positions are parsed where client text is read (the stream's cursor, history's
// after=), so the reader never sees a malformed one.
type LogReader interface {
	// After returns up to limit notifications of source's log strictly after pos,
	// oldest first, or a *ResetError (errors.Is ErrReset) when the client cannot resume
	// from pos without loss: never issued (rediskey.Max included), or older than what
	// the log still holds (see CheckResume). The resume check and the read see the
	// same state of the log: trimming cannot slip between them.
	After(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error)

	// Range returns up to limit notifications of source's log strictly after pos,
	// oldest first, whatever was trimmed: the history endpoint pages with it. An empty
	// or expired log gives no items and no error. rediskey.Max, after which nothing can
	// exist, is no cursor: an error wrapping rediskey.ErrBadStreamID (the caller's
	// 400), never a store failure.
	Range(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error)

	// Heads returns the position of the newest notification each of sources' logs
	// holds (rediskey.Zero for an empty or missing log), all read at one instant: no
	// notification is stored in any of them between the reads. A stream that joined its
	// logs' live delivery takes Heads before replaying, and replays each log only up
	// to its head: everything newer reaches it live, in publishing order, so the logs'
	// notifications stay in creation order across logs.
	Heads(ctx context.Context, sources []string) ([]rediskey.StreamID, error)

	// Latest returns the newest limit notifications of source's log, oldest first.
	Latest(ctx context.Context, source string, limit int) ([]notification.Envelope, error)
}

// Reads are a user's read marks (ReadMark): the read endpoints and the history's
// read flags and unread count.
type Reads interface {
	// MarkRead records that userID has read m's notifications (ReadMark.Validate's
	// rules; an invalid m is an error wrapping ErrInvalid) and hands a ControlRead to
	// userID's live delivery, on every process: {"all":true} for All, else {"ids":[…]}
	// listing the ids the logs hold (ids they do not hold — trimmed, expired, never
	// issued, or of a log not in m.Logs — are ignored, and when none is held nothing is
	// sent; a mark over several logs may send one control per log). All covers every
	// notification of userID's own log and of m.Logs (the broadcast and group logs the
	// user reads) stored before it, and none stored after. Idempotent. Read state lives
	// as long as its notification: it leaves with it when the log is trimmed or expires
	// (read state of a group or broadcast notification is the user's, and lives at most
	// the logs' retention after it was marked).
	MarkRead(ctx context.Context, userID string, m ReadMark) error

	// ReadState reports, for each of ids (notification ids of userID's own log or of
	// logs), whether userID read it, and how many notifications of userID's own log and
	// of logs are not read. ids are meant to be ids the logs hold (as Latest and Range
	// return them); a malformed id, one of a log not in logs, or one outside its log
	// (trimmed, or newer than its newest entry), is not read.
	ReadState(ctx context.Context, userID string, logs []string, ids []string) (read []bool, unread int, err error)
}

// Preferences are a user's stored preferences (Prefs): the preferences endpoints,
// the stream's muting and Web Push.
type Preferences interface {
	// Preferences returns userID's preferences, DefaultPrefs when none are stored.
	Preferences(ctx context.Context, userID string) (Prefs, error)

	// SetPreferences stores p (normalised by Prefs.Normalize; an invalid p is an error
	// wrapping ErrInvalid) for PrefsTTL from now, hands a ControlPrefs carrying what was
	// stored to userID's live delivery, and returns it.
	SetPreferences(ctx context.Context, userID string, p Prefs) (Prefs, error)
}

// Ready is the readiness check of a service that depends on the broker.
type Ready interface {
	// Ready reports whether the broker can serve: its store answers and its live
	// connection is up. An instance whose live connection is dead must not look ready.
	Ready(ctx context.Context) error
}

// Sink receives live notifications from Feed.Run. Its methods are never called
// concurrently (the Redis broker calls them from Run's goroutine, Memory from the
// goroutine of the Publish, MarkRead… that made them, under its lock) and must not block. Each log's notifications and
// controls come in the order the log stored them; on a Redis Cluster, logs on different
// masters may interleave out of creation order (docs/CLUSTER.md, "Order across logs, live").
type Sink interface {
	// Deliver hands over one notification of source's log. e.ID is never empty.
	Deliver(source string, e notification.Envelope)
	// Resync says live delivery was interrupted (a lost connection, now back):
	// notifications may have been missed, and every consumer must replay from its log.
	// It comes before every notification received after the interruption, so a
	// consumer that handles the two in order replays from where the gap began.
	// Control messages sent during the gap are lost: consumers re-read what they
	// derive from them (preferences) here.
	Resync()
	// Control hands over a control message for userID (read marks, preference
	// changes), in line with userID's notifications. It is not a notification: it has no
	// log id and must not move a consumer's position.
	Control(userID string, c Control)
}

// Conformance: the in-process broker implements the contract (redisbroker checks its
// own).
var _ Broker = (*Memory)(nil)
