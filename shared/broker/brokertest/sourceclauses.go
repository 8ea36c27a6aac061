package brokertest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// sourcesAreSeparateLogs: a group's log and the broadcast log are logs like a user's
// (stored, deduplicated per log, delivered live under their source name, replayed), and
// their notification ids name their log, so no id of one log equals an id of another.
func sourcesAreSeparateLogs(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	group := broker.GroupSource("class-7b")
	for _, s := range []string{"alice", group, broker.Everyone} {
		f.subscribe(s)
	}
	own := f.publish("alice", "m1", 1)
	g := f.publish(group, "m1", 2) // the same message id: dedupe is per log
	all := f.publish(broker.Everyone, "m1", 3)
	if dupID, dup, err := f.b.Publish(f.ctx, group, "m1", Sample(2)); err != nil || !dup || dupID != g {
		t.Errorf("second Publish to %s = %q, %v, %v; want %q, true", group, dupID, dup, err, g)
	}
	for _, c := range []struct{ source, id, prefix string }{
		{"alice", own, ""}, {group, g, group + ":"}, {broker.Everyone, all, broker.Everyone + ":"},
	} {
		got := f.rec.WaitFor(t, c.source, 1)
		if len(got) != 1 || got[0].ID != c.id {
			t.Fatalf("%s delivered %v, want one with id %s", c.source, got, c.id)
		}
		if !strings.HasPrefix(c.id, c.prefix) || !strings.Contains(string(got[0].Data), `{"id":"`+c.id+`"`) {
			t.Errorf("%s: id %q (data %s), want the prefix %q in both", c.source, c.id, got[0].Data, c.prefix)
		}
		source, pos, ownLog, err := broker.SplitItemID(c.id)
		if err != nil || ownLog != (c.prefix == "") || (!ownLog && source != c.source) {
			t.Errorf("SplitItemID(%q) = %q, %v, %v, %v", c.id, source, pos, ownLog, err)
		}
		for name, read := range map[string]func() (string, error){
			"After":  func() (string, error) { e, err := f.b.After(f.ctx, c.source, rediskey.Zero, 10); return only(e), err },
			"Range":  func() (string, error) { e, err := f.b.Range(f.ctx, c.source, rediskey.Zero, 10); return only(e), err },
			"Latest": func() (string, error) { e, err := f.b.Latest(f.ctx, c.source, 10); return only(e), err },
		} {
			if id, err := read(); err != nil || id != c.id {
				t.Errorf("%s(%s) = %q, %v; want %q", name, c.source, id, err, c.id)
			}
		}
		// The log position after which the client resumes is the part after the prefix.
		if rest, err := f.b.After(f.ctx, c.source, pos, 10); err != nil || len(rest) != 0 {
			t.Errorf("After(%s, %s) = %v, %v; want nothing", c.source, pos, rest, err)
		}
	}
}

// only returns the id of the single envelope in es, or a description of what is there.
func only(es []notification.Envelope) string {
	if len(es) != 1 {
		return "not one item"
	}
	return es[0].ID
}

// readStateOfSharedLogs: a group's or the broadcast log's notifications carry each
// user's own read state: marked by id or by all (which covers the logs the mark names),
// counted in that user's unread, never another's; ids of a log the mark does not name
// are ignored; the read control lists the qualified ids.
func readStateOfSharedLogs(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("ann")
	group := broker.GroupSource("class-7b")
	logs := []string{broker.Everyone, group}
	own := f.publish("ann", "o1", 1)
	g1 := f.publish(group, "g1", 2)
	g2 := f.publish(group, "g2", 3)
	all := f.publish(broker.Everyone, "b1", 4)
	ids := []string{own, g1, g2, all}
	state := func(user string, logs []string) ([]bool, int) {
		t.Helper()
		read, unread, err := f.b.ReadState(f.ctx, user, logs, ids)
		if err != nil {
			t.Fatalf("ReadState(%s): %v", user, err)
		}
		return read, unread
	}
	if read, unread := state("ann", logs); slices.Contains(read, true) || unread != 4 {
		t.Fatalf("before any mark: read %v, unread %d; want none read, 4 unread", read, unread)
	}
	if err := f.b.MarkRead(f.ctx, "ann", broker.ReadMark{IDs: []string{g1, all}, Logs: logs}); err != nil {
		t.Fatal(err)
	}
	if read, unread := state("ann", logs); !slices.Equal(read, []bool{false, true, false, true}) || unread != 2 {
		t.Fatalf("after marking %s and %s: read %v, unread %d; want [false true false true], 2", g1, all, read, unread)
	}
	if read, unread := state("ben", logs); slices.Contains(read, true) || unread != 3 {
		t.Errorf("another user of the same logs: read %v, unread %d; want none read, 3 unread", read, unread)
	}
	// One control listing both, or one per log: together they list exactly the two.
	var listed []string
	for deadline := time.Now().Add(5 * time.Second); len(listed) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		listed = listed[:0]
		for _, c := range f.rec.Controls("ann") {
			var d struct{ IDs []string }
			if err := json.Unmarshal(c.Data, &d); err != nil || c.Kind != broker.ControlRead {
				t.Fatalf("control %s %s: %v", c.Kind, c.Data, err)
			}
			listed = append(listed, d.IDs...)
		}
	}
	slices.Sort(listed)
	if want := []string{all, g1}; !slices.Equal(listed, want) {
		t.Errorf("read controls list %v, want %v", listed, want)
	}
	// A log the mark does not name is not marked.
	if err := f.b.MarkRead(f.ctx, "ann", broker.ReadMark{IDs: []string{g2}, Logs: []string{broker.Everyone}}); err != nil {
		t.Fatal(err)
	}
	if read, _ := state("ann", logs); read[2] {
		t.Errorf("%s marked read through a mark whose logs do not include its group", g2)
	}
	if err := f.b.MarkRead(f.ctx, "ann", broker.ReadMark{All: true, Logs: logs}); err != nil {
		t.Fatal(err)
	}
	if read, unread := state("ann", logs); slices.Contains(read, false) || unread != 0 {
		t.Errorf("after all: read %v, unread %d; want all read, 0", read, unread)
	}
	later := f.publish(group, "g3", 5)
	if read, unread, err := f.b.ReadState(f.ctx, "ann", logs, []string{later}); err != nil || read[0] || unread != 1 {
		t.Errorf("a notification after the mark of all: read %v, unread %d, %v; want unread 1", read, unread, err)
	}
}

// headsAreTheNewestPositions: Heads gives each log's newest position, Zero for a log
// that is empty or never existed, in the order asked.
func headsAreTheNewestPositions(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	group := broker.GroupSource("class-7b")
	f.publish("hal", "h1", 1)
	own := f.publish("hal", "h2", 2)
	all := f.publish(broker.Everyone, "b1", 3)
	heads, err := f.b.Heads(f.ctx, []string{group, "hal", broker.Everyone, "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 4)
	for i, id := range []string{"", own, all, ""} {
		want[i] = "0-0"
		if id != "" {
			_, pos, _, _ := broker.SplitItemID(id)
			want[i] = pos.String()
		}
	}
	for i := range want {
		if heads[i].String() != want[i] {
			t.Errorf("Heads = %v, want %v", heads, want)
			break
		}
	}
}
