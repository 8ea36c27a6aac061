package broker

import (
	"fmt"
	"strings"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Sources. A user's stream reads several logs: the user's own, one per group its token
// names, and the broadcast log. Every Broker method that takes a userID takes any of
// these source names: a user id names the user's own log, GroupSource(g) a group's and
// Everyone the broadcast log. "@" and "!" are not allowed in user ids
// (notification.ValidUserID), so the names never clash, and both are safe inside Redis
// key names and channel names.
const (
	// Everyone names the broadcast log: one entry reaches every user, with no write
	// per user.
	Everyone = "!all"
	// groupMark starts a group's source name.
	groupMark = "@"
	// MaxGroups is the most groups a stream follows (the token's first MaxGroups valid
	// group ids) and the most one notification may address.
	MaxGroups = 100
)

// GroupSource names group's log. group must be a valid id (ValidGroupID).
func GroupSource(group string) string { return groupMark + group }

// ValidGroupID reports whether id can name a group: the user id rules (1–128 characters
// of [A-Za-z0-9_-]), since it becomes part of Redis names too.
func ValidGroupID(id string) bool { return notification.ValidUserID(id) }

// IsUserSource reports whether source is a user's own log (not a group's, not the
// broadcast log).
func IsUserSource(source string) bool {
	return source != "" && !strings.HasPrefix(source, groupMark) && source != Everyone
}

// ValidSource reports whether source names a log: a valid user id, "@" + a valid group
// id, or Everyone.
func ValidSource(source string) bool {
	if g, ok := strings.CutPrefix(source, groupMark); ok {
		return ValidGroupID(g)
	}
	return source == Everyone || notification.ValidUserID(source)
}

// ItemPrefix is what a notification id of source starts with: nothing for a user's own
// log (its ids are plain log positions, as they always were), "<source>:" for the
// others, so the ids of different logs never collide in a client's list or in read
// marks.
func ItemPrefix(source string) string {
	if IsUserSource(source) {
		return ""
	}
	return source + ":"
}

// ItemID is the id of the notification at pos in source's log.
func ItemID(source string, pos rediskey.StreamID) string { return ItemPrefix(source) + pos.String() }

// SplitItemID returns the source and log position of a notification id: own is true
// (and source empty) for a plain position, an id of the user's own log. Errors wrap
// rediskey.ErrBadStreamID.
func SplitItemID(id string) (source string, pos rediskey.StreamID, own bool, err error) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		pos, err = rediskey.ParseStreamID(id)
		return "", pos, true, err
	}
	source = id[:i]
	if IsUserSource(source) || !ValidSource(source) {
		return "", pos, false, fmt.Errorf("%w: unknown log in notification id", rediskey.ErrBadStreamID)
	}
	pos, err = rediskey.ParseStreamID(id[i+1:])
	return source, pos, false, err
}

// SourceKind names the kind of source's log for logs and metrics: "user", "group" or
// "all", never the user's or group's id.
func SourceKind(source string) string {
	switch {
	case source == Everyone:
		return "all"
	case strings.HasPrefix(source, groupMark):
		return "group"
	}
	return "user"
}
