package redisbroker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// TestUnreadStateCost: an unread under the watermark writes one member per id to the
// user's UnreadIDs set and never moves the watermark; it measures the set's bytes
// (MEMORY USAGE) for docs/PERFORMANCE.md. A read of all deletes the set.
func TestUnreadStateCost(t *testing.T) {
	t.Parallel()
	a, _, rdb, names := pair(t, broker.DefaultLimits)
	ctx := context.Background()
	var ids []string
	for i := range 200 {
		id, _, err := a.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	key := names.UnreadIDs("u", "u")
	for _, n := range []int{1, 10, 100, 128, 129, 200} {
		if err := a.MarkRead(ctx, "u", broker.ReadMark{All: true}); err != nil {
			t.Fatal(err)
		}
		if got := rdb.Exists(ctx, key).Val(); got != 0 {
			t.Fatalf("after a read of all the unread set exists (%d)", got)
		}
		upTo := rdb.Get(ctx, names.ReadUpTo("u")).Val()
		for from := 0; from < n; from += broker.MaxReadIDs {
			if err := a.MarkUnread(ctx, "u", broker.ReadMark{IDs: ids[from:min(n, from+broker.MaxReadIDs)]}); err != nil {
				t.Fatal(err)
			}
		}
		if got := rdb.ZCard(ctx, key).Val(); got != int64(n) {
			t.Fatalf("unread %d ids: set of %d", n, got)
		}
		if got := rdb.Get(ctx, names.ReadUpTo("u")).Val(); got != upTo {
			t.Fatalf("unread moved the watermark: %q, was %q", got, upTo)
		}
		if _, unread, err := a.ReadState(ctx, "u", nil, nil); err != nil || unread != n {
			t.Fatalf("unread count %d (%v), want %d", unread, err, n)
		}
		t.Logf("unread set of %d ids: %d B", n, rdb.MemoryUsage(ctx, key).Val())
	}
}

// TestUnreadExported: export lists the ids made unread under the watermark, per log.
func TestUnreadExported(t *testing.T) {
	t.Parallel()
	a, _, rdb, names := pair(t, broker.DefaultLimits)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		id, _, _ := a.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		ids = append(ids, id)
	}
	if err := a.MarkRead(ctx, "u", broker.ReadMark{All: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkUnread(ctx, "u", broker.ReadMark{IDs: []string{ids[2], ids[0]}}); err != nil {
		t.Fatal(err)
	}
	p, err := redisbroker.NewPrivacy(rdb, names, broker.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := p.Export(ctx, "u", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := ex.Read["u"]
	if r == nil || r.UpTo != ids[2] || !slices.Equal(r.Unread, []string{ids[0], ids[2]}) || len(ex.Other) != 0 {
		t.Fatalf("export read %+v, other %v; want up_to %s, unread [%s %s]", r, ex.Other, ids[2], ids[0], ids[2])
	}
}

// BenchmarkMarkUnread measures an unread of one id under the watermark (the log's
// snapshot, the unread script, the inbox control's PUBLISH) beside a read of one id
// (snapshot, mark script with its PUBLISH), against the private redis-server.
func BenchmarkMarkUnread(b *testing.B) {
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		b.Fatal(err)
	}
	defer rdb.Close()
	br, _ := redisbroker.New(rdb, rediskey.Names{Prefix: fmt.Sprintf("bench%d", prefix.Add(1))}, broker.DefaultLimits, redisbroker.Options{})
	ctx := context.Background()
	var ids []string
	for i := range 200 {
		id, _, err := br.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := br.MarkRead(ctx, "u", broker.ReadMark{All: true}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		op   func(m broker.ReadMark) error
	}{
		{"unread", func(m broker.ReadMark) error { return br.MarkUnread(ctx, "u", m) }},
		{"read", func(m broker.ReadMark) error { return br.MarkRead(ctx, "u", m) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := c.op(broker.ReadMark{IDs: []string{ids[i%len(ids)]}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
