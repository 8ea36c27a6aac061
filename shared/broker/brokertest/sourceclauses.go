package brokertest

import (
	"strings"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
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
			"After":  func() (string, error) { e, err := f.b.After(f.ctx, c.source, "0-0", 10); return only(e), err },
			"Range":  func() (string, error) { e, err := f.b.Range(f.ctx, c.source, "0-0", 10); return only(e), err },
			"Latest": func() (string, error) { e, err := f.b.Latest(f.ctx, c.source, 10); return only(e), err },
		} {
			if id, err := read(); err != nil || id != c.id {
				t.Errorf("%s(%s) = %q, %v; want %q", name, c.source, id, err, c.id)
			}
		}
		// The log position after which the client resumes is the part after the prefix.
		if rest, err := f.b.After(f.ctx, c.source, pos.String(), 10); err != nil || len(rest) != 0 {
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
