package rediskey

import "strings"

// Receipts is the hash of a user's first seen and read times (docs/PRIVACY.md):
// field the notification id (broker.ItemID: a plain position for the user's
// own log, "<source>:<position>" for a group's or the broadcast log), value
// "<seen ms> <read ms>" (0 for not yet). One key per user, under the user's hash tag.
func (n Names) Receipts(user string) string { return n.Prefix + ":{" + user + "}:rcpt" }

// GroupReceipts is the hash of who saw and read one group notification: field the user,
// value "<seen ms> <read ms>". source is the group's log source ("@" + group), pos the
// notification's position in that log; the key shares the group log's hash tag, so the
// receipts of one announcement live on the group's shard.
func (n Names) GroupReceipts(source, pos string) string {
	return n.Prefix + ":{" + source + "}:rcpt:" + pos
}

// KeyKind is one kind of Redis name, as listed by Kinds.
type KeyKind struct {
	// Method is the Names method that builds it.
	Method string
	// User is true for kinds under a user's hash tag ({user}): export reads them and
	// erasure deletes them. Shared kinds are under another tag; PersonalShared says
	// whether one holds per-user data (a member or field naming a user) that export and
	// erasure must handle on their own.
	User           bool
	PersonalShared bool
}

// Kinds lists every kind of name Names builds. It is the one list export and erasure
// are checked against: a test fails when a Names method is missing here, and the
// export and erase tests fail when a user kind or personal shared kind has no handler
// there.
func Kinds() []KeyKind {
	return []KeyKind{
		{Method: "Channel"}, // a pub/sub channel, nothing stored
		{Method: "Log", User: true},
		{Method: "Seen", User: true},
		{Method: "Ticket"}, // hashed, 60 s: holds a user id, expires on its own
		{Method: "Presence", User: true},
		{Method: "PresenceInstances"},
		{Method: "PushSubscriptions", User: true},
		{Method: "PushQueue", PersonalShared: true},
		{Method: "ReadIDs", User: true},
		{Method: "ReadUpTo", User: true},
		{Method: "ReadIDsIn", User: true},
		{Method: "ReadUpToIn", User: true},
		{Method: "UnreadIDs", User: true},
		{Method: "Prefs", User: true},
		{Method: "SeenIDs", User: true},
		{Method: "SeenUpTo", User: true},
		{Method: "Archived", User: true},
		{Method: "Receipts", User: true},
		{Method: "GroupReceipts", PersonalShared: true},
		{Method: "Members", PersonalShared: true},
		{Method: "MembersSeen", PersonalShared: true},
		{Method: "UserGroups", User: true},
		{Method: "PushDevices", User: true},
		{Method: "FCMQueue", PersonalShared: true}, // a decided push and its user until sent
		{Method: "PushCollapseKey"},                // one random key
		{Method: "Fanouts"},                        // job ids and leases
		{Method: "FanoutJob"},                      // a job's source, notification and cursor
		{Method: "PushWindow", PersonalShared: true},
		{Method: "PushDue", PersonalShared: true},
		{Method: "QuietHeld", User: true},
		{Method: "QuietDue", PersonalShared: true},
		{Method: "ScheduleDue"},                         // item keys and due times only
		{Method: "ScheduleLease"},                       // item keys and lease ends only
		{Method: "ScheduleItems", PersonalShared: true}, // an announcement's audience may name users
		{Method: "Room", PersonalShared: true},          // members and their messages
		{Method: "RoomChannel"},                         // a pub/sub channel, nothing stored
	}
}

// UserPattern is a SCAN MATCH pattern for every key under user's hash tag. The prefix
// is escaped for the glob; user ids ([A-Za-z0-9_-]) need no escaping.
func (n Names) UserPattern(user string) string {
	var b strings.Builder
	for _, r := range n.Prefix {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String() + ":{" + user + "}:*"
}

// PushWindow is a user's Web Push coalescing window (a hash the push worker keeps under
// the push queue's tag), and PushDue the sorted set of users whose window holds
// notifications. The worker (stream/internal/webpush) names them the same way; erasure
// deletes the window and the user's PushDue member.
func (n Names) PushWindow(user string) string { return n.PushQueue() + ":w:" + user }

// PushDue: see PushWindow.
func (n Names) PushDue() string { return n.PushQueue() + ":due" }

// Room is one part of room's state (what: its messages stream, state hash, member
// leases …; stream/internal/rooms names the parts) and RoomChannel its pub/sub channel,
// all under the hash tag {#room:<room>}, so each of a room's scripts runs in one slot.
// "#" is outside the user and group id charset: no user's or group's tag is a room's.
func (n Names) Room(room, what string) string { return n.Prefix + ":{#room:" + room + "}:" + what }

// RoomChannel: see Room.
func (n Names) RoomChannel(room string) string { return n.Room(room, "events") }
