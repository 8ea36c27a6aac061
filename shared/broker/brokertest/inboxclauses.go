package brokertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
)

// inboxClauses are the contract of seen and archived state (broker.Inbox). A broker
// that does not implement broker.Inbox fails them.
var inboxClauses = []struct {
	name string
	test func(*testing.T, Factory)
}{
	{"seen by ids and all: state, unseen count, apart from read", seenState},
	{"seen and archived state of shared logs is per user", inboxSharedLogs},
	{"archive and unarchive: state, idempotent, only what is held", archiveState},
	{"inbox state lives as long as its notification", inboxFollowsTheLog},
	{"invalid seen marks and archive ids are refused", invalidInbox},
	{"inbox changes reach live delivery as controls", inboxControls},
}

// inbox returns f's broker as a broker.Inbox, failing the test when it is not one.
func (f *fixture) inbox() broker.Inbox {
	f.t.Helper()
	in, ok := f.b.(broker.Inbox)
	if !ok {
		f.t.Fatalf("%T does not implement broker.Inbox", f.b)
	}
	return in
}

// wantInbox checks InboxState(ids) of user over logs.
func (f *fixture) wantInbox(user string, logs, ids []string, seen, archived []bool, unseen int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	st, err := f.inbox().InboxState(ctx, user, logs, ids)
	if err != nil {
		f.t.Fatalf("InboxState(%s): %v", user, err)
	}
	if !slices.Equal(st.Seen, seen) || !slices.Equal(st.Archived, archived) || st.Unseen != unseen {
		f.t.Fatalf("InboxState(%s, %v) = seen %v archived %v unseen %d; want %v %v %d",
			user, ids, st.Seen, st.Archived, st.Unseen, seen, archived, unseen)
	}
}

func (f *fixture) markSeen(user string, m broker.ReadMark) {
	f.t.Helper()
	if err := f.inbox().MarkSeen(f.ctx, user, m); err != nil {
		f.t.Fatalf("MarkSeen(%s, %+v): %v", user, m, err)
	}
}

func (f *fixture) archive(user string, logs []string, archived bool, ids ...string) {
	f.t.Helper()
	if err := f.inbox().SetArchived(f.ctx, user, logs, ids, archived); err != nil {
		f.t.Fatalf("SetArchived(%s, %v, %v): %v", user, ids, archived, err)
	}
}

// seenState: ids seen by id, then all; later notifications are unseen; seen is not
// read and read is not seen.
func seenState(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	no := []bool{false, false, false}
	ids := f.publishN("sam", 3)
	f.wantInbox("sam", nil, ids, no, no, 3)
	for range 2 { // idempotent
		f.markSeen("sam", broker.ReadMark{IDs: []string{ids[1], "1-0"}})
		f.wantInbox("sam", nil, ids, []bool{false, true, false}, no, 2)
	}
	f.markIDs("sam", ids[0])
	f.wantInbox("sam", nil, ids, []bool{false, true, false}, no, 2)
	f.wantRead("sam", ids, []bool{true, false, false}, 2)
	f.markSeen("sam", broker.ReadMark{All: true})
	f.wantInbox("sam", nil, ids, []bool{true, true, true}, no, 0)
	f.wantRead("sam", ids, []bool{true, false, false}, 2)
	more := f.publishN("sam", 2)
	f.wantInbox("sam", nil, append(ids, more...), []bool{true, true, true, false, false}, make([]bool, 5), 2)
	f.markSeen("sam", broker.ReadMark{IDs: more[1:]})
	f.wantInbox("sam", nil, more, []bool{false, true}, []bool{false, false}, 1)
}

// inboxSharedLogs: a group's and the broadcast log's notifications carry each user's
// own seen and archived state; a log the request does not name is not touched.
func inboxSharedLogs(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	group := broker.GroupSource("class-9c")
	logs := []string{broker.Everyone, group}
	own := f.publish("ivy", "o1", 1)
	g1 := f.publish(group, "g1", 2)
	all := f.publish(broker.Everyone, "b1", 3)
	ids := []string{own, g1, all}
	no := []bool{false, false, false}
	f.markSeen("ivy", broker.ReadMark{IDs: []string{g1}, Logs: []string{broker.Everyone}}) // group not named
	f.archive("ivy", []string{broker.Everyone}, true, g1)
	f.wantInbox("ivy", logs, ids, no, no, 3)
	f.markSeen("ivy", broker.ReadMark{IDs: []string{g1}, Logs: logs})
	f.archive("ivy", logs, true, all)
	f.wantInbox("ivy", logs, ids, []bool{false, true, false}, []bool{false, false, true}, 2)
	f.wantInbox("jon", logs, ids[1:], no[1:], no[1:], 2)
	f.markSeen("ivy", broker.ReadMark{All: true, Logs: logs})
	f.wantInbox("ivy", logs, ids, []bool{true, true, true}, []bool{false, false, true}, 0)
	f.wantInbox("jon", logs, ids[1:], no[1:], no[1:], 2)
}

// archiveState: archive and unarchive by id, idempotent, per user; ids not held are
// ignored.
func archiveState(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	no := []bool{false, false, false}
	// A user's own ids are bare log positions, so another user's id names a position in
	// ada's log too when both were created in the same millisecond (Redis ids come from
	// the clock per log): bea's is made first, and ada's a millisecond later, so "bea's
	// id is not ada's" holds on every broker.
	other := f.publishN("bea", 1)
	time.Sleep(2 * time.Millisecond)
	ids := f.publishN("ada", 3)
	for range 2 {
		f.archive("ada", nil, true, ids[0], ids[2], "1-0", other[0])
		f.wantInbox("ada", nil, ids, no, []bool{true, false, true}, 3)
	}
	f.wantInbox("bea", nil, other, []bool{false}, []bool{false}, 1)
	for range 2 {
		f.archive("ada", nil, false, ids[2])
		f.wantInbox("ada", nil, ids, no, []bool{true, false, false}, 3)
	}
}

// inboxFollowsTheLog: trimmed ids cannot be marked; seen state of trimmed entries
// leaves the count with them; a watermark older than the log covers nothing held.
func inboxFollowsTheLog(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishTrimmed("eli") // ids[0] and ids[1] trimmed; MaxLen held
	f.markSeen("eli", broker.ReadMark{IDs: []string{ids[0], ids[3], ids[4]}})
	f.archive("eli", nil, true, ids[1], ids[3])
	f.wantInbox("eli", nil, ids, []bool{false, false, false, true, true, false, false},
		[]bool{false, false, false, true, false, false, false}, MaxLen-2)
	f.markSeen("eli", broker.ReadMark{All: true})
	fresh := f.publishN("eli", MaxLen) // every entry seen or archived is trimmed
	f.wantInbox("eli", nil, fresh, make([]bool, MaxLen), make([]bool, MaxLen), MaxLen)
}

// invalidInbox: the rules of ReadMark for seen marks and for archive ids; nothing
// changes.
func invalidInbox(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("kai", 2)
	tooMany := slices.Repeat([]string{ids[0]}, broker.MaxReadIDs+1)
	for name, m := range map[string]broker.ReadMark{
		"neither": {}, "both": {IDs: ids, All: true}, "too many": {IDs: tooMany}, "malformed": {IDs: []string{ids[0], "x"}},
	} {
		if err := f.inbox().MarkSeen(f.ctx, "kai", m); !errors.Is(err, broker.ErrInvalid) {
			t.Errorf("%s: MarkSeen = %v, want ErrInvalid", name, err)
		}
	}
	for name, list := range map[string][]string{"none": nil, "too many": tooMany, "malformed": {ids[0], "x"}} {
		for _, archived := range []bool{true, false} {
			if err := f.inbox().SetArchived(f.ctx, "kai", nil, list, archived); !errors.Is(err, broker.ErrInvalid) {
				t.Errorf("%s: SetArchived(%v) = %v, want ErrInvalid", name, archived, err)
			}
		}
	}
	f.wantInbox("kai", nil, ids, []bool{false, false}, []bool{false, false}, 2)
}

// inboxControls: each change reaches the user's live delivery as an inbox control in
// line with notifications, listing only what it applied to; a change of nothing held
// sends nothing; other users get nothing.
func inboxControls(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("lea")
	f.subscribe("max")
	n1 := f.publish("lea", "m1", 1)
	f.markSeen("lea", broker.ReadMark{IDs: []string{n1, "1-0"}})
	f.markSeen("lea", broker.ReadMark{IDs: []string{"1-0"}}) // nothing held: no control
	f.archive("lea", nil, true, n1, "1-0")
	f.archive("lea", nil, false, n1)
	f.markSeen("lea", broker.ReadMark{All: true})
	n2 := f.publish("lea", "m2", 2)
	f.rec.WaitFor(t, "lea", 2)
	ctls := f.rec.Controls("lea")
	want := []string{
		`{"op":"seen","ids":["` + n1 + `"]}`, `{"op":"archive","ids":["` + n1 + `"]}`,
		`{"op":"unarchive","ids":["` + n1 + `"]}`, `{"op":"seen","all":true}`,
	}
	var got []string
	for _, c := range ctls {
		if c.Kind != broker.ControlInbox {
			t.Errorf("control kind %q, want %q", c.Kind, broker.ControlInbox)
		}
		got = append(got, string(c.Data))
	}
	if !slices.Equal(got, want) {
		t.Errorf("controls %q, want %q", got, want)
	}
	if order := f.rec.Order("lea"); len(order) != 6 || order[0] != n1 || order[5] != n2 {
		t.Errorf("order %v: controls not in line with notifications", order)
	}
	if c := f.rec.Controls("max"); len(c) != 0 {
		t.Errorf("another user got controls %v", c)
	}
}
