// Package rediskey is the one place that names Redis keys and channels, and parses the
// stream IDs Redis assigns. One user's keys share a hash tag ({user}) so a script that
// touches them runs on Redis Cluster too. The channel keeps the agreed name
// notifications:<user_id> on one Redis; on a cluster it carries the hash tag too,
// notifications:{<user_id>}, so it is a shard channel in the slot of the user's keys.
package rediskey

import (
	"errors"
	"strconv"
	"strings"
)

// DefaultPrefix is the prefix of every name in production.
const DefaultPrefix = "notifications"

// Names builds Redis names under a prefix (tests use their own to stay isolated).
// User IDs must already be valid (notification.ValidUserID): they are not escaped.
type Names struct {
	Prefix string
	// Sharded names channels for sharded pub/sub (Redis Cluster): each in the hash
	// slot of its log, where the write script can SPUBLISH to it.
	Sharded bool
}

// Channel is the pub/sub channel of a user's (or any log's) live notifications.
func (n Names) Channel(user string) string {
	if n.Sharded {
		return n.Prefix + ":{" + user + "}"
	}
	return n.Prefix + ":" + user
}

// Log is the Redis Stream holding a user's recent notifications.
func (n Names) Log(user string) string { return n.Prefix + ":{" + user + "}:log" }

// Seen is the dedupe marker for one Pub/Sub message addressed to user.
func (n Names) Seen(user, messageID string) string {
	return n.Prefix + ":{" + user + "}:seen:" + messageID
}

// Ticket is the key of a stream ticket, named by the ticket's hash.
func (n Names) Ticket(hash string) string { return n.Prefix + ":ticket:" + hash }

// Presence is the sorted set of a user's open streams (member: instance/connection,
// score: the end of the entry's first 30 s in unix ms; after that the instance's lease in
// PresenceInstances decides), behind the global per-user connection cap.
func (n Names) Presence(user string) string { return n.Prefix + ":{" + user + "}:conns" }

// PresenceInstances is the sorted set of instance leases (member: instance, score: the
// lease's end in unix ms). A user's Presence entry outlives its first 30 s only while
// its instance's lease does. The tag {presence} is also that of a user named
// "presence", whose keys (…:conns, …:log) never clash with it.
func (n Names) PresenceInstances() string { return n.Prefix + ":{presence}:instances" }

// PushSubscriptions is the hash of a user's Web Push subscriptions (field: endpoint,
// value: the subscription JSON).
func (n Names) PushSubscriptions(user string) string { return n.Prefix + ":{" + user + "}:push" }

// PushDevices is the hash of a user's FCM devices (field: registration token, value:
// the device JSON {"token","platform"}), under the user's hash tag.
func (n Names) PushDevices(user string) string { return n.Prefix + ":{" + user + "}:fcm" }

// PushQueue is the Redis Stream of notifications to send as Web Push: the function
// XADDs each new notification there (fields user, n) and the stream instances consume
// it in one consumer group. The push worker names its coalescing keys after it
// (<queue>:due, <queue>:w:<user>), so the hash tag {push} keeps them in one slot; it
// is also the tag of a user named "push", whose keys (…:log, …:conns …) never clash.
func (n Names) PushQueue() string { return n.Prefix + ":{push}" }

// FCMQueue is the Redis Stream of decided FCM pushes: the push worker decides once
// per notification (presence, preferences, coalescing) and hands what FCM is to send
// here (fields user, m), where a sender of its own drains it, so a slow FCM never
// holds Web Push up. Same hash tag as PushQueue: the hand-off and the queue's keys
// share a slot.
func (n Names) FCMQueue() string { return n.PushQueue() + ":fcm" }

// PushCollapseKey holds the random key that names coalescing windows (FCM collapse
// keys) when there is no VAPID private key to derive them from, so every instance
// names a window alike.
func (n Names) PushCollapseKey() string { return n.PushQueue() + ":collapsekey" }

// UserGroups is the sorted set of the logs a user was last seen to read besides their
// own (member: a group's source "@<group>", and "!all"; score: last seen, unix ms),
// under the user's hash tag: what push membership last recorded for them.
func (n Names) UserGroups(user string) string { return n.Prefix + ":{" + user + "}:groups" }

// Members is the sorted set of a group's (or, for source "!all", everyone's) members
// for push fan-out, all at score 0 so it is walked in user id order (ZRANGE BYLEX)
// without missing or repeating anyone; MembersSeen scores the same members by last
// seen (unix ms) so those not seen for 30 days are forgotten. Both are under the
// source's hash tag ({@<group>}, {!all}), like its log.
func (n Names) Members(source string) string { return n.Prefix + ":{" + source + "}:members" }

// MembersSeen: see Members.
func (n Names) MembersSeen(source string) string { return n.Prefix + ":{" + source + "}:memberseen" }

// Fanouts is the sorted set of group and broadcast pushes being fanned out (member:
// the job id, score: when its current lease ends, unix ms); FanoutJob is one job's
// hash {source, n, cursor}. Both are under {push}, like the queue the fan-out writes
// to, so a batch is queued and its cursor advanced in one script.
func (n Names) Fanouts() string { return n.PushQueue() + ":fanouts" }

// FanoutJob: see Fanouts.
func (n Names) FanoutJob(id string) string { return n.PushQueue() + ":fanout:" + id }

// The fields of a push queue entry the function writes, and the queue's cap (XADD
// MAXLEN ~): handled entries are deleted, so the cap matters only when no worker runs,
// and then the oldest pushes are dropped, not the memory.
const (
	PushFieldUser         = "user"
	PushFieldNotification = "n"
	PushQueueMaxLen       = 100000
)

// ReadIDs is the sorted set of a user's notifications read one by one and not covered
// by ReadUpTo (member: the log id, score: its milliseconds). It holds only ids of the
// log, and lives as long as the log (the write script renews its TTL with the log's).
func (n Names) ReadIDs(user string) string { return n.Prefix + ":{" + user + "}:read" }

// ReadUpTo holds "<id> <added>": every notification of the user's log up to id is read,
// and added was the log's entries-added count when it was set (so the unread entries
// after id are counted without reading them). It lives as long as the log.
func (n Names) ReadUpTo(user string) string { return n.Prefix + ":{" + user + "}:readupto" }

// ReadIDsIn and ReadUpToIn are ReadIDs and ReadUpTo of user for another log the user
// reads (a group's or the broadcast log, named by its source): the user's read state of
// shared notifications, under the user's hash tag.
func (n Names) ReadIDsIn(user, source string) string { return n.ReadIDs(user) + ":" + source }

// ReadUpToIn: see ReadIDsIn.
func (n Names) ReadUpToIn(user, source string) string { return n.ReadUpTo(user) + ":" + source }

// Prefs holds a user's notification preferences, as JSON.
func (n Names) Prefs(user string) string { return n.Prefix + ":{" + user + "}:prefs" }

// UserOfChannel returns the user a channel belongs to, if it is one of ours.
func (n Names) UserOfChannel(channel string) (string, bool) {
	user, ok := strings.CutPrefix(channel, n.Prefix+":")
	if ok && n.Sharded {
		user, ok = strings.CutPrefix(user, "{")
		if ok {
			user, ok = strings.CutSuffix(user, "}")
		}
	}
	return user, ok && user != ""
}

// StreamID is a Redis Stream entry ID, <milliseconds>-<sequence>. IDs compare as two
// numbers: "10-0" is after "9-0", which string comparison gets wrong.
type StreamID struct{ Ms, Seq uint64 }

// Zero is 0-0, the ID before every entry.
var Zero StreamID

// Max is the largest ID there can be. Nothing comes after it, so it is no position to
// resume or page from: Redis refuses the exclusive range "(Max", and a client that sends
// it holds no id of ours (brokers and handlers treat it as a bad cursor).
var Max = StreamID{^uint64(0), ^uint64(0)}

// ErrBadStreamID is returned for text that is not a complete stream ID.
var ErrBadStreamID = errors.New("malformed stream id")

// ParseStreamID parses "<ms>-<seq>". It accepts only what Redis itself produces: two
// decimal numbers without signs, spaces or leading zeros.
func ParseStreamID(s string) (StreamID, error) {
	msText, seqText, ok := strings.Cut(s, "-")
	if !ok {
		return StreamID{}, ErrBadStreamID
	}
	ms, err1 := parseDecimal(msText)
	seq, err2 := parseDecimal(seqText)
	if err1 != nil || err2 != nil {
		return StreamID{}, ErrBadStreamID
	}
	return StreamID{ms, seq}, nil
}

func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') || s[0] == '+' {
		return 0, ErrBadStreamID
	}
	return strconv.ParseUint(s, 10, 64)
}

// String formats the ID as Redis does.
func (id StreamID) String() string {
	return strconv.FormatUint(id.Ms, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// Compare returns -1, 0 or +1 as id is before, equal to or after other.
func (id StreamID) Compare(other StreamID) int {
	switch {
	case id.Ms < other.Ms || id.Ms == other.Ms && id.Seq < other.Seq:
		return -1
	case id == other:
		return 0
	default:
		return 1
	}
}

// Next is the smallest ID after id.
func (id StreamID) Next() StreamID {
	if id.Seq == ^uint64(0) {
		return StreamID{id.Ms + 1, 0}
	}
	return StreamID{id.Ms, id.Seq + 1}
}

// SeenIDs and SeenUpTo are the user's seen state of a log (docs/PROTOCOL.md "Seen and archived"),
// shaped like ReadIDs and ReadUpTo: a watermark "<id> <added>" and a sorted set of ids
// seen one by one after it. source is the log's source (the user's own id for their
// own log). They are under the user's hash tag, so a mark writes one slot.
func (n Names) SeenIDs(user, source string) string {
	return n.Prefix + ":{" + user + "}:seen:" + source
}

// SeenUpTo: see SeenIDs.
func (n Names) SeenUpTo(user, source string) string {
	return n.Prefix + ":{" + user + "}:seenupto:" + source
}

// UnreadIDs is the sorted set of the user's notifications of source's log made unread
// again (POST …/unread) while ReadUpTo covers them: the exceptions to the watermark
// (member: the log id, score: its milliseconds), under the user's hash tag. Ids read
// one by one after the watermark need no entry here: the unread removes them from
// ReadIDs.
func (n Names) UnreadIDs(user, source string) string {
	return n.Prefix + ":{" + user + "}:unread:" + source
}

// Archived is the sorted set of the user's archived notifications of source's log
// (member: the log id, score: its milliseconds), under the user's hash tag.
func (n Names) Archived(user, source string) string {
	return n.Prefix + ":{" + user + "}:archived:" + source
}

// QuietHeld is the hash of the pushes held for user during quiet hours (count, newest
// id, when the window ends, one field per held id so a reclaimed queue entry is not
// counted twice), under the user's hash tag.
func (n Names) QuietHeld(user string) string { return n.Prefix + ":{" + user + "}:quiet" }

// QuietDue is the sorted set of users whose held pushes are due for a summary, scored
// by when their quiet hours end (milliseconds), or by the lease of the instance
// summarising them. Its tag {push} is the push queue's; the name cannot clash with a
// user named "push" (whose held hash is …:{push}:quiet).
func (n Names) QuietDue() string { return n.Prefix + ":{push}:quiet:due" }

// The schedule of notifications published with send_at: a sorted set of item keys by
// due time (ms), a sorted set of the items being released by lease expiry (ms), and
// a hash of item key → stored item. One hash tag, {sched}, so each step of the
// schedule is one script on one slot; a user named "sched" has none of these names.
func (n Names) ScheduleDue() string   { return n.Prefix + ":{sched}:due" }
func (n Names) ScheduleLease() string { return n.Prefix + ":{sched}:lease" }
func (n Names) ScheduleItems() string { return n.Prefix + ":{sched}:items" }
