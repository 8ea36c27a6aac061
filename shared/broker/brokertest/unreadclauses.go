package brokertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
)

// unreadClauses are the contract of Inbox.MarkUnread: undoing a read, whether the read
// was by id or by a mark of all, without touching the neighbours.
var unreadClauses = []struct {
	name string
	test func(*testing.T, Factory)
}{
	{"unread undoes a read by id", unreadByID},
	{"unread undoes a mark of all for that id only", unreadUnderAll},
	{"unread lasts until the id or all is read again", unreadUntilReadAgain},
	{"unread state lives as long as its notification", unreadFollowsTheLog},
	{"unread of shared logs is per user", unreadSharedLogs},
	{"invalid unread requests are refused", invalidUnread},
	{"unread reaches live delivery as an inbox control", unreadControls},
}

func (f *fixture) markUnread(user string, logs []string, ids ...string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := f.inbox().MarkUnread(ctx, user, broker.ReadMark{IDs: ids, Logs: logs}); err != nil {
		f.t.Fatalf("MarkUnread(%s, %v): %v", user, ids, err)
	}
}

// wantReadIn checks ReadState(ids) over logs and the unread count.
func (f *fixture) wantReadIn(user string, logs, ids []string, want []bool, unread int) {
	f.t.Helper()
	got, n, err := f.b.ReadState(f.ctx, user, logs, ids)
	if err != nil {
		f.t.Fatalf("ReadState(%s): %v", user, err)
	}
	if !slices.Equal(got, want) || n != unread {
		f.t.Fatalf("ReadState(%s, %v) = %v, unread %d; want %v, unread %d", user, ids, got, n, want, unread)
	}
}

// unreadByID: an id read one by one is unread again, its neighbour stays read; twice
// is once; an id never read stays unread.
func unreadByID(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("ula", 3)
	f.markIDs("ula", ids[0], ids[1])
	for range 2 {
		f.markUnread("ula", nil, ids[0], ids[2])
		f.wantRead("ula", ids, []bool{false, true, false}, 2)
	}
	f.markIDs("ula", ids[0])
	f.wantRead("ula", ids, []bool{true, true, false}, 1)
}

// unreadUnderAll: after a mark of all, one id is unread and only it; the count adds
// it; newer notifications count as before.
func unreadUnderAll(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("uno", 4)
	f.markAll("uno")
	for range 2 {
		f.markUnread("uno", nil, ids[1])
		f.wantRead("uno", ids, []bool{true, false, true, true}, 1)
	}
	more := f.publishN("uno", 1)
	f.wantRead("uno", append(slices.Clone(ids), more...), []bool{true, false, true, true, false}, 2)
	// Reading the newer one by one moves nothing back: ids[1] stays unread.
	f.markIDs("uno", more[0])
	f.wantRead("uno", append(slices.Clone(ids), more...), []bool{true, false, true, true, true}, 1)
	f.markUnread("uno", nil, ids[3], more[0])
	f.wantRead("uno", append(slices.Clone(ids), more...), []bool{true, false, true, false, false}, 3)
}

// unreadUntilReadAgain: an unread id is read again by a mark of it or of all, even
// when nothing new was stored since the watermark.
func unreadUntilReadAgain(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("uwe", 3)
	f.markAll("uwe")
	f.markUnread("uwe", nil, ids[0], ids[2])
	f.markIDs("uwe", ids[2])
	f.wantRead("uwe", ids, []bool{false, true, true}, 1)
	f.markAll("uwe")
	f.wantRead("uwe", ids, []bool{true, true, true}, 0)
	f.markUnread("uwe", nil, ids[1])
	more := f.publishN("uwe", 1)
	f.markAll("uwe")
	f.wantRead("uwe", append(ids, more...), []bool{true, true, true, true}, 0)
}

// unreadFollowsTheLog: a trimmed id cannot be unread; an unread id that is trimmed
// leaves the count with it.
func unreadFollowsTheLog(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishTrimmed("uta") // ids[0] and ids[1] trimmed; MaxLen held
	f.markAll("uta")
	f.markUnread("uta", nil, ids[0], ids[2])
	f.wantRead("uta", ids, []bool{false, false, false, true, true, true, true}, 1)
	more := f.publishN("uta", 1) // trims ids[2]
	f.wantRead("uta", append(ids[3:], more...), []bool{true, true, true, true, false}, 1)
}

// unreadSharedLogs: a group's or the broadcast log's notification is unread for the
// user asking only; a log the request does not name is not touched.
func unreadSharedLogs(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	group := broker.GroupSource("class-5a")
	logs := []string{broker.Everyone, group}
	own := f.publish("una", "o1", 1)
	g1 := f.publish(group, "g1", 2)
	all := f.publish(broker.Everyone, "b1", 3)
	ids := []string{own, g1, all}
	for _, user := range []string{"una", "udo"} {
		if err := f.b.MarkRead(f.ctx, user, broker.ReadMark{All: true, Logs: logs}); err != nil {
			t.Fatal(err)
		}
	}
	f.markUnread("una", []string{broker.Everyone}, g1) // group not named: ignored
	f.wantReadIn("una", logs, ids, []bool{true, true, true}, 0)
	f.markUnread("una", logs, g1, all)
	f.wantReadIn("una", logs, ids, []bool{true, false, false}, 2)
	f.wantReadIn("udo", logs, ids[1:], []bool{true, true}, 0)
	if err := f.b.MarkRead(f.ctx, "una", broker.ReadMark{IDs: []string{all}, Logs: logs}); err != nil {
		t.Fatal(err)
	}
	f.wantReadIn("una", logs, ids, []bool{true, false, true}, 1)
}

// invalidUnread: all, neither, too many, malformed: ErrInvalid, nothing changes.
func invalidUnread(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("uli", 2)
	f.markAll("uli")
	tooMany := slices.Repeat([]string{ids[0]}, broker.MaxReadIDs+1)
	for name, m := range map[string]broker.ReadMark{
		"all": {All: true}, "neither": {}, "empty ids": {IDs: []string{}}, "too many": {IDs: tooMany},
		"malformed": {IDs: []string{ids[0], "x"}},
	} {
		if err := f.inbox().MarkUnread(f.ctx, "uli", m); !errors.Is(err, broker.ErrInvalid) {
			t.Errorf("%s: MarkUnread = %v, want ErrInvalid", name, err)
		}
	}
	f.wantRead("uli", ids, []bool{true, true}, 0)
}

// unreadControls: an unread reaches the user's live delivery as an inbox control in
// line with notifications, listing the ids held; an unread of nothing held sends
// nothing; other users get nothing.
func unreadControls(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("ute")
	f.subscribe("uri")
	n1 := f.publish("ute", "m1", 1)
	f.markUnread("ute", nil, n1, "1-0")
	f.markUnread("ute", nil, "1-0") // nothing held: no control
	n2 := f.publish("ute", "m2", 2)
	f.rec.WaitFor(t, "ute", 2)
	if got, want := f.rec.Order("ute"), []string{n1, "ctl:inbox", n2}; !slices.Equal(got, want) {
		t.Fatalf("ute received %v, want %v", got, want)
	}
	ctl := f.rec.Controls("ute")[0]
	if want := `{"op":"unread","ids":["` + n1 + `"]}`; ctl.Kind != broker.ControlInbox || string(ctl.Data) != want {
		t.Errorf("control %s %s, want inbox %s", ctl.Kind, ctl.Data, want)
	}
	if c := f.rec.Controls("uri"); len(c) != 0 {
		t.Errorf("another user got controls %v", c)
	}
}
