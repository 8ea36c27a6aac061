package brokertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// readClauses are the contract of read state and preferences (Broker.MarkRead,
// ReadState, Preferences, SetPreferences and Sink.Control).
var readClauses = []struct {
	name string
	test func(*testing.T, Factory)
}{
	{"read by ids: state, unread count, idempotent", readByIDs},
	{"read all covers what was stored before it, not after", readAll},
	{"read state is per user", readIsPerUser},
	{"read state lives as long as its notification", readFollowsTheLog},
	{"invalid read marks are refused", invalidReadMarks},
	{"read marks reach live delivery in line, as controls", readControlsInLine},
	{"preferences: defaults, round trip, validation, per user, live", preferences},
}

// readByIDs: marked ids read, others not; the count follows; marking again changes
// nothing; once everything is read, newer notifications are still unread.
func readByIDs(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("rita", 3)
	f.wantRead("rita", ids, []bool{false, false, false}, 3)
	for range 2 { // idempotent
		f.markIDs("rita", ids[0], ids[2], ids[0])
		f.wantRead("rita", ids, []bool{true, false, true}, 1)
	}
	f.markIDs("rita", ids[1])
	f.wantRead("rita", ids, []bool{true, true, true}, 0)
	ids = append(ids, f.publishN("rita", 2)...)
	f.wantRead("rita", ids, []bool{true, true, true, false, false}, 2)
	f.markIDs("rita", ids[4])
	f.wantRead("rita", ids, []bool{true, true, true, false, true}, 1)
	f.wantRead("rita", []string{"1-0", "not-an-id", ids[3]}, []bool{false, false, false}, 1)
}

// readAll: all marks what the log holds; what is stored later is unread; it combines
// with marks by id; on an empty log it marks nothing to come.
func readAll(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.markAll("sara") // no log yet
	f.wantRead("sara", nil, nil, 0)
	ids := f.publishN("sara", 3)
	f.wantRead("sara", ids, []bool{false, false, false}, 3)
	f.markIDs("sara", ids[1])
	f.markAll("sara")
	f.wantRead("sara", ids, []bool{true, true, true}, 0)
	ids = append(ids, f.publishN("sara", 2)...)
	f.wantRead("sara", ids, []bool{true, true, true, false, false}, 2)
	f.markIDs("sara", ids[0], ids[4]) // one already read by all
	f.wantRead("sara", ids, []bool{true, true, true, false, true}, 1)
	f.markAll("sara")
	f.markAll("sara") // idempotent
	f.wantRead("sara", ids, []bool{true, true, true, true, true}, 0)
}

// readIsPerUser: a user's marks, by id or all, never touch another user's state, even
// with the other user's ids.
func readIsPerUser(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	alice := f.publishN("tia", 2)
	bob := f.publishN("uma", 2)
	f.markIDs("uma", alice...)
	f.markAll("uma")
	f.wantRead("tia", alice, []bool{false, false}, 2)
	f.wantRead("uma", bob, []bool{true, true}, 0)
	f.markIDs("tia", alice[0])
	f.wantRead("tia", alice, []bool{true, false}, 1)
	f.wantRead("uma", bob, []bool{true, true}, 0)
}

// readFollowsTheLog: a trimmed id cannot be marked; read state of trimmed entries
// leaves the count with them; a watermark older than the log covers nothing held.
func readFollowsTheLog(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishTrimmed("vera") // ids[0] and ids[1] trimmed; MaxLen held
	f.markIDs("vera", ids[0], ids[3], ids[4])
	f.wantRead("vera", ids, []bool{false, false, false, true, true, false, false}, MaxLen-2)
	more := f.publishN("vera", 2) // trims ids[2] and ids[3] (read)
	held := append(slices.Clone(ids[4:]), more...)
	f.wantRead("vera", held, []bool{true, false, false, false, false}, MaxLen-1)
	f.markAll("vera")
	f.wantRead("vera", held, []bool{true, true, true, true, true}, 0)
	fresh := f.publishN("vera", MaxLen) // every entry the watermark covered is trimmed
	f.wantRead("vera", fresh, make([]bool, MaxLen), MaxLen)
}

// invalidReadMarks: neither or both, no ids, too many, a malformed id: ErrInvalid,
// and nothing changes.
func invalidReadMarks(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("wes", 2)
	tooMany := make([]string, broker.MaxReadIDs+1)
	for i := range tooMany {
		tooMany[i] = ids[0]
	}
	for name, m := range map[string]broker.ReadMark{
		"neither": {}, "empty ids": {IDs: []string{}}, "both": {IDs: ids, All: true},
		"too many": {IDs: tooMany}, "malformed": {IDs: []string{ids[0], "x"}}, "empty id": {IDs: []string{""}},
	} {
		if err := f.b.MarkRead(f.ctx, "wes", m); !errors.Is(err, broker.ErrInvalid) {
			t.Errorf("%s: MarkRead = %v, want ErrInvalid", name, err)
		}
	}
	f.wantRead("wes", ids, []bool{false, false}, 2)
	if err := f.b.MarkRead(f.ctx, "wes", broker.ReadMark{IDs: tooMany[:broker.MaxReadIDs]}); err != nil {
		t.Errorf("MarkRead of %d ids: %v", broker.MaxReadIDs, err)
	}
}

// readControlsInLine: a read mark reaches the user's live delivery as a control, in
// publishing order with notifications, with the frame's data; only the ids the log
// holds are listed; a mark of nothing held sends nothing; other users get nothing.
func readControlsInLine(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("xia")
	f.subscribe("yan")
	n1 := f.publish("xia", "m1", 1)
	f.markIDs("xia", n1, "1-0")
	f.markIDs("xia", "1-0") // held by no log: no control
	n2 := f.publish("xia", "m2", 2)
	f.markAll("xia")
	n3 := f.publish("xia", "m3", 3)
	f.rec.WaitFor(t, "xia", 3)
	want := []string{n1, "ctl:read", n2, "ctl:read", n3}
	if got := f.rec.Order("xia"); !slices.Equal(got, want) {
		t.Fatalf("xia received %v, want %v", got, want)
	}
	ctls := f.rec.Controls("xia")
	if got, want := string(ctls[0].Data), `{"ids":["`+n1+`"]}`; ctls[0].Kind != broker.ControlRead || got != want {
		t.Errorf("first control %s %s, want read %s", ctls[0].Kind, got, want)
	}
	if got := string(ctls[1].Data); ctls[1].Kind != broker.ControlRead || got != `{"all":true}` {
		t.Errorf("second control %s %s, want read {\"all\":true}", ctls[1].Kind, got)
	}
	f.publish("yan", "m4", 4)
	f.rec.WaitFor(t, "yan", 1)
	if got := f.rec.Controls("yan"); len(got) != 0 {
		t.Errorf("yan received controls %v", got)
	}
}

// preferences: defaults until stored; stored normalised (sorted, deduplicated) and
// returned; invalid ones refused without changing what is stored; per user; a change
// reaches the user's live delivery with what was stored.
func preferences(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("zoe")
	if got, err := f.b.Preferences(f.ctx, "zoe"); err != nil || !prefsEqual(got, broker.DefaultPrefs()) {
		t.Fatalf("default preferences = %+v, %v", got, err)
	}
	in := broker.Prefs{MutedTypes: []string{"video_failed", "announcement", "video_failed"}, Push: false}
	want := broker.Prefs{MutedTypes: []string{"announcement", "video_failed"}, Push: false}
	stored, err := f.b.SetPreferences(f.ctx, "zoe", in)
	if err != nil || !prefsEqual(stored, want) {
		t.Fatalf("SetPreferences = %+v, %v; want %+v", stored, err, want)
	}
	if got, err := f.b.Preferences(f.ctx, "zoe"); err != nil || !prefsEqual(got, want) {
		t.Fatalf("Preferences = %+v, %v; want %+v", got, err, want)
	}
	if !stored.Muted("video_failed") || stored.Muted("video_complete") {
		t.Errorf("Muted: %+v", stored)
	}
	ctl := f.rec.WaitForControls(t, "zoe", 1)[0]
	var carried broker.Prefs
	if err := json.Unmarshal(ctl.Data, &carried); ctl.Kind != broker.ControlPrefs || err != nil || !prefsEqual(carried, want) {
		t.Errorf("control %s %s (%v), want prefs %+v", ctl.Kind, ctl.Data, err, want)
	}
	for name, p := range map[string]broker.Prefs{
		"bad name":  {MutedTypes: []string{"Video"}},
		"too long":  {MutedTypes: []string{"a" + strings.Repeat("b", 40)}},
		"reserved":  {MutedTypes: []string{"read"}},
		"reset":     {MutedTypes: []string{"reset"}},
		"empty":     {MutedTypes: []string{""}},
		"too many":  {MutedTypes: manyTypes(broker.MaxMutedTypes + 1)},
		"separator": {MutedTypes: []string{"video_failed\n"}},
	} {
		if _, err := f.b.SetPreferences(f.ctx, "zoe", p); !errors.Is(err, broker.ErrInvalid) {
			t.Errorf("%s: SetPreferences = %v, want ErrInvalid", name, err)
		}
	}
	if got, _ := f.b.Preferences(f.ctx, "zoe"); !prefsEqual(got, want) {
		t.Errorf("after refused changes: %+v, want %+v", got, want)
	}
	if _, err := f.b.SetPreferences(f.ctx, "zoe", broker.Prefs{MutedTypes: manyTypes(broker.MaxMutedTypes), Push: true}); err != nil {
		t.Errorf("SetPreferences of %d types: %v", broker.MaxMutedTypes, err)
	}
	if got, err := f.b.Preferences(f.ctx, "other"); err != nil || !prefsEqual(got, broker.DefaultPrefs()) {
		t.Errorf("another user's preferences = %+v, %v", got, err)
	}
	if got := f.rec.Controls("other"); len(got) != 0 {
		t.Errorf("another user received %v", got)
	}
}

func manyTypes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("type_%d", i)
	}
	return out
}

func prefsEqual(a, b broker.Prefs) bool {
	return a.Push == b.Push && a.MutedTypes != nil && b.MutedTypes != nil && slices.Equal(a.MutedTypes, b.MutedTypes)
}

// publishN publishes n new notifications for user and returns their ids.
func (f *fixture) publishN(user string, n int) []string {
	f.t.Helper()
	var ids []string
	for range n {
		f.seq++
		ids = append(ids, f.publish(user, fmt.Sprint("n", f.seq), f.seq))
	}
	return ids
}

func (f *fixture) markIDs(user string, ids ...string) {
	f.t.Helper()
	if err := f.b.MarkRead(f.ctx, user, broker.ReadMark{IDs: ids}); err != nil {
		f.t.Fatalf("MarkRead(%s, %v): %v", user, ids, err)
	}
}

func (f *fixture) markAll(user string) {
	f.t.Helper()
	if err := f.b.MarkRead(f.ctx, user, broker.ReadMark{All: true}); err != nil {
		f.t.Fatalf("MarkRead(%s, all): %v", user, err)
	}
}

// wantRead checks ReadState(ids) and the unread count.
func (f *fixture) wantRead(user string, ids []string, want []bool, unread int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	got, n, err := f.b.ReadState(ctx, user, nil, ids)
	if err != nil {
		f.t.Fatalf("ReadState(%s): %v", user, err)
	}
	if len(got) != len(ids) || !slices.Equal(got, want) || n != unread {
		f.t.Fatalf("ReadState(%s, %v) = %v, unread %d; want %v, unread %d", user, ids, got, n, want, unread)
	}
}

// SampleFailed returns a distinct valid notification of type video_failed.
func SampleFailed(i int) notification.Notification {
	n := Sample(i)
	n.Type, n.VideoURL, n.Error = notification.VideoFailed, "", "encoder crashed"
	return n
}
