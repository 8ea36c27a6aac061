package faults

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Audiences (issue 15, docs/PROTOCOL.md "The cursor"). Every fault's users carry groups in
// their tokens, and the publishers mix notifications for a user, for a group and for
// everyone into the same run, so each fault also proves that one resume cursor brings
// back all three kinds together: every notification of a tab's audience (its user's
// own ∪ its groups' ∪ the broadcasts) exactly once, nothing of another audience, each
// log in creation order (see audit).

// groupsOf is what the groups claim of user-u's tokens says: class-(u%4), except every
// fifth user, who is in no group (a token without the claim: own and broadcast
// notifications only); every third user is also in "club". Users of other names
// (fault 5's flooded users) are given their groups explicitly.
func groupsOf(u int) []string {
	var g []string
	if u%5 != 4 {
		g = append(g, fmt.Sprint("class-", u%4))
	}
	if u%3 == 0 {
		g = append(g, "club")
	}
	return g
}

// mixedLogs are the logs other than a user's own that the mixed publishers write to, in
// turn: the broadcast log, each class, the club, and a group nobody is in (no tab may
// receive what is published there).
var mixedLogs = []string{
	broker.Everyone, broker.GroupSource("class-0"), broker.GroupSource("class-1"), broker.GroupSource("club"),
	broker.GroupSource("class-2"), broker.GroupSource("nobody"), broker.GroupSource("class-3"), broker.Everyone,
}

// mixedExtra says whether the i-th step of a mixed run, besides its notification for a
// user, publishes to a group or to everyone, and where: one step in four, mixedLogs in
// turn. The users' own notifications stay what they were before groups existed.
func mixedExtra(i int) (string, bool) {
	if i%4 != 2 {
		return "", false
	}
	return mixedLogs[(i/4)%len(mixedLogs)], true
}

// announcement is the i-th notification for a group or for everyone, as another
// service would send it (docs/PROTOCOL.md "Input 2: notifications from any service").
func announcement(source string, i int) notification.Notification {
	return notification.Notification{Type: "announcement", Severity: notification.SeverityInfo,
		Title: "Announcement " + strconv.Itoa(i), Text: "for " + source,
		CreatedAt: notification.Timestamp{Time: time.Now()}}
}

// userIndex is u of "user-u", or -1.
func userIndex(user string) int {
	s, ok := strings.CutPrefix(user, "user-")
	if !ok {
		return -1
	}
	u, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return u
}

// logsOf are the logs a stream of user with groups reads, as the checker names them:
// ownLog for the user's own, then the broadcast log and the groups' (broker source
// names).
func logsOf(groups []string) []string {
	out := []string{ownLog, broker.Everyone}
	for _, g := range groups {
		out = append(out, broker.GroupSource(g))
	}
	return out
}

// kindOf names a log's kind for the counts: own, group or broadcast.
func kindOf(log string) string {
	switch {
	case log == ownLog:
		return "own"
	case log == broker.Everyone:
		return "broadcast"
	}
	return "group"
}
