package brokertest

import (
	"context"
	"slices"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// OlderReader is a broker that pages backwards (the history endpoint's before=).
type OlderReader interface {
	broker.Broker
	Before(ctx context.Context, source string, bound rediskey.StreamID, limit int) ([]notification.Envelope, error)
}

// RunBefore runs the contract of Before: the newest limit entries strictly before
// bound, oldest first; nothing before the first; Max means the whole log.
func RunBefore(t *testing.T, newBroker func(*testing.T) OlderReader) {
	b := newBroker(t)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		id, _, err := b.Publish(ctx, "bea", "before-"+string(rune('a'+i)), Sample(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	got := func(id string, limit int) []string {
		t.Helper()
		bound, err := rediskey.ParseStreamID(id)
		if err != nil {
			t.Fatal(err)
		}
		es, err := b.Before(ctx, "bea", bound, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	if g := got(ids[4], 2); !slices.Equal(g, ids[2:4]) {
		t.Errorf("Before(5th, 2) = %v, want %v", g, ids[2:4])
	}
	if g := got(ids[1], 10); !slices.Equal(g, ids[:1]) {
		t.Errorf("Before(2nd, 10) = %v, want %v", g, ids[:1])
	}
	if g := got(ids[0], 10); len(g) != 0 {
		t.Errorf("Before(1st) = %v, want nothing", g)
	}
	if g := got(rediskey.Max.String(), 10); !slices.Equal(g, ids) {
		t.Errorf("Before(Max) = %v, want the whole log", g)
	}
}
