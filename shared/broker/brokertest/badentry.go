package brokertest

import (
	"context"
	"slices"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// UndecodableBody is a log entry's body as an older write path stored it: an expiry
// past year 9999 encoded with a five-digit year, which no reader parses (issue 23).
const UndecodableBody = `{"type":"notice","severity":"info","title":"x","created_at":"2026-12-06T16:00:00.000Z","expires_at":"10000-01-01T04:59:59.000Z"}`

// Planter is what a Factory's brokers implement (a test wrapper or a test-only method)
// so the contract can put into a log an entry that does not decode: Publish cannot
// make one, yet a log written under older rules holds them.
type Planter interface {
	// PlantUndecodable appends UndecodableBody to source's log and returns its position.
	PlantUndecodable(ctx context.Context, source string) (string, error)
}

// undecodableEntriesAreSkipped: a log entry that does not decode is skipped (and
// logged) by After, Range and Latest, which return the rest; a full page is still full
// (the read goes on past the skipped entry), so a short page still means the log's
// end, and reading after the last good entry when only bad ones follow returns nothing,
// without an error: no page fails, and no replay loops on the bad entry.
func undecodableEntriesAreSkipped(t *testing.T, newBroker Factory) {
	b := newBroker(t)
	p, ok := b.(Planter)
	if !ok {
		t.Fatalf("%T does not implement brokertest.Planter", b)
	}
	f := startWith(t, b)
	for _, source := range []string{"gail", broker.GroupSource("class-7b")} {
		plant := func() {
			t.Helper()
			if _, err := p.PlantUndecodable(f.ctx, source); err != nil {
				t.Fatalf("PlantUndecodable(%s): %v", source, err)
			}
		}
		plant()
		a := f.publish(source, "a", 1)
		plant()
		c := f.publish(source, "c", 2)
		plant() // the newest entry: nothing good follows it (MaxLen entries in all)
		pos := func(id string) rediskey.StreamID { _, p, _, _ := broker.SplitItemID(id); return p }
		for _, tc := range []struct {
			name string
			read func() ([]notification.Envelope, error)
			want []string
		}{
			{"After(0-0, 10)", func() ([]notification.Envelope, error) { return f.b.After(f.ctx, source, rediskey.Zero, 10) }, []string{a, c}},
			{"After(0-0, 1)", func() ([]notification.Envelope, error) { return f.b.After(f.ctx, source, rediskey.Zero, 1) }, []string{a}},
			{"After(a, 1)", func() ([]notification.Envelope, error) { return f.b.After(f.ctx, source, pos(a), 1) }, []string{c}},
			{"After(c, 10)", func() ([]notification.Envelope, error) { return f.b.After(f.ctx, source, pos(c), 10) }, nil},
			{"Range(0-0, 10)", func() ([]notification.Envelope, error) { return f.b.Range(f.ctx, source, rediskey.Zero, 10) }, []string{a, c}},
			{"Range(0-0, 1)", func() ([]notification.Envelope, error) { return f.b.Range(f.ctx, source, rediskey.Zero, 1) }, []string{a}},
			{"Range(a, 1)", func() ([]notification.Envelope, error) { return f.b.Range(f.ctx, source, pos(a), 1) }, []string{c}},
			{"Range(c, 10)", func() ([]notification.Envelope, error) { return f.b.Range(f.ctx, source, pos(c), 10) }, nil},
			{"Latest(10)", func() ([]notification.Envelope, error) { return f.b.Latest(f.ctx, source, 10) }, []string{a, c}},
			{"Latest(1)", func() ([]notification.Envelope, error) { return f.b.Latest(f.ctx, source, 1) }, []string{c}},
		} {
			got, err := tc.read()
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if err != nil || !slices.Equal(ids, tc.want) {
				t.Errorf("%s: %s = %v, %v; want %v", source, tc.name, ids, err, tc.want)
			}
		}
	}
}
