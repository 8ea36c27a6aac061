package redisbroker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// pair is two brokers over one Redis and one prefix: two stream instances, or an
// instance before and after a restart.
func pair(t *testing.T, limits broker.Limits) (a, b *redisbroker.Broker, rdb redis.UniversalClient, names rediskey.Names) {
	t.Helper()
	names = rediskey.Names{Prefix: fmt.Sprintf("rd%d", prefix.Add(1))}
	open := func() *redisbroker.Broker {
		c, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		br, err := redisbroker.New(c, names, limits, redisbroker.Options{PingInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rdb = c
		return br
	}
	return open(), open(), rdb, names
}

// TestReadStateIsSharedAcrossInstances: what one instance marks, another (or a
// restarted one) reads, and the read control reaches the other instance's subscriber;
// preferences likewise.
func TestReadStateIsSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b, _, _ := pair(t, broker.Limits{MaxLen: 10, Retention: time.Hour, DedupeTTL: time.Hour})
	_, _, rec := running(t, b, "u")
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		id, _, err := a.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := a.MarkRead(ctx, "u", broker.ReadMark{IDs: ids[:2]}); err != nil {
		t.Fatal(err)
	}
	read, unread, err := b.ReadState(ctx, "u", nil, ids)
	if err != nil || !read[0] || !read[1] || read[2] || unread != 1 {
		t.Fatalf("other instance reads %v, unread %d, %v", read, unread, err)
	}
	if _, err := a.SetPreferences(ctx, "u", broker.Prefs{MutedTypes: []string{"video_failed"}, Push: true}); err != nil {
		t.Fatal(err)
	}
	ctls := rec.WaitForControls(t, "u", 2)
	if ctls[0].Kind != broker.ControlRead || string(ctls[0].Data) != `{"ids":["`+ids[0]+`","`+ids[1]+`"]}` {
		t.Errorf("read control %s %s", ctls[0].Kind, ctls[0].Data)
	}
	if ctls[1].Kind != broker.ControlPrefs || string(ctls[1].Data) != `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}` {
		t.Errorf("prefs control %s %s", ctls[1].Kind, ctls[1].Data)
	}
	if p, err := b.Preferences(ctx, "u"); err != nil || !p.Muted("video_failed") || !p.Push {
		t.Errorf("other instance's preferences %+v, %v", p, err)
	}
	if n := len(rec.Got("u")); n != 3 {
		t.Errorf("%d notifications delivered, want 3 (controls are not notifications)", n)
	}
}

// TestReadStateLivesAsLongAsTheLog: the read keys carry the log's TTL, a publish renews
// it, and preferences keep theirs for broker.PrefsTTL; nothing is left without a TTL.
func TestReadStateLivesAsLongAsTheLog(t *testing.T) {
	t.Parallel()
	a, _, rdb, names := pair(t, broker.Limits{MaxLen: 10, Retention: time.Hour, DedupeTTL: time.Hour})
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		id, _, _ := a.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		ids = append(ids, id)
	}
	if err := a.MarkRead(ctx, "u", broker.ReadMark{All: true}); err != nil {
		t.Fatal(err)
	}
	id, _, _ := a.Publish(ctx, "u", "m3", brokertest.Sample(3))
	if _, _, err := a.Publish(ctx, "u", "m4", brokertest.Sample(4)); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkRead(ctx, "u", broker.ReadMark{IDs: []string{id, ids[0]}}); err != nil { // ids[0]: covered
		t.Fatal(err)
	}
	if n := rdb.ZCard(ctx, names.ReadIDs("u")).Val(); n != 1 {
		t.Fatalf("read set holds %d ids, want 1 (the one the watermark does not cover)", n)
	}
	for _, key := range []string{names.ReadIDs("u"), names.ReadUpTo("u")} {
		if err := rdb.PExpire(ctx, key, time.Second).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := a.Publish(ctx, "u", "m5", brokertest.Sample(5)); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{names.Log("u"), names.ReadIDs("u"), names.ReadUpTo("u")} {
		if ttl := rdb.PTTL(ctx, key).Val(); ttl < 59*time.Minute || ttl > time.Hour {
			t.Errorf("%s TTL %s after a publish, want the log's hour", key, ttl)
		}
	}
	if _, err := a.SetPreferences(ctx, "u", broker.DefaultPrefs()); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.TTL(ctx, names.Prefs("u")).Val(); ttl < broker.PrefsTTL-time.Minute || ttl > broker.PrefsTTL {
		t.Errorf("preferences TTL %s, want %s", ttl, broker.PrefsTTL)
	}
	_, unread, err := a.ReadState(ctx, "u", nil, nil)
	if err != nil || unread != 2 { // m4 and m5
		t.Fatalf("unread %d, %v; want 2", unread, err)
	}
}

// TestReadSetFoldsAndStaysSmall: marking every entry one by one leaves only the
// watermark (no set); the set never holds more than the log's unread-then-read ids.
func TestReadSetFoldsAndStaysSmall(t *testing.T) {
	t.Parallel()
	a, _, rdb, names := pair(t, broker.Limits{MaxLen: 5, Retention: time.Hour, DedupeTTL: time.Hour})
	ctx := context.Background()
	var ids []string
	for i := range 12 {
		id, _, _ := a.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		ids = append(ids, id)
		if i%2 == 0 { // every other one read as it arrives: the set keeps growing, the log trims
			if err := a.MarkRead(ctx, "u", broker.ReadMark{IDs: []string{id}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := rdb.ZCard(ctx, names.ReadIDs("u")).Val(); n > 3 {
		t.Errorf("read set holds %d ids for a log of 5 with 3 read", n)
	}
	if err := a.MarkRead(ctx, "u", broker.ReadMark{IDs: ids[7:]}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, names.ReadIDs("u")).Val(); n != 0 {
		t.Error("read set still exists with everything read")
	}
	if v := rdb.Get(ctx, names.ReadUpTo("u")).Val(); v != ids[11]+" 12" {
		t.Errorf("watermark %q, want %q", v, ids[11]+" 12")
	}
	if _, unread, err := a.ReadState(ctx, "u", nil, nil); err != nil || unread != 0 {
		t.Errorf("unread %d, %v", unread, err)
	}
}

// TestMalformedControlIsDropped: a control payload that cannot be read reaches the
// sink neither as a control nor as a notification, and is no resync.
func TestMalformedControlIsDropped(t *testing.T) {
	t.Parallel()
	a, _, rdb, names := pair(t, broker.DefaultLimits)
	_, _, rec := running(t, a, "u")
	ctx := context.Background()
	for _, p := range []string{`{"ctl":"bogus","data":{}}`, `{"ctl":"read"}`, `{"ctl":"read","data":{`} {
		if err := rdb.Publish(ctx, names.Channel("u"), p).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.MarkRead(ctx, "u", broker.ReadMark{All: true}); err != nil {
		t.Fatal(err)
	}
	if got := rec.WaitForControls(t, "u", 1); len(got) != 1 || string(got[0].Data) != `{"all":true}` {
		t.Fatalf("controls %v", got)
	}
	if len(rec.Got("u")) != 0 || rec.Resyncs() != 0 {
		t.Fatalf("notifications %v, resyncs %d", rec.Got("u"), rec.Resyncs())
	}
}

// TestReadStateCost measures what read state and preferences cost in Redis (MEMORY
// USAGE, bytes) for docs/PERFORMANCE.md's capacity sums.
func TestReadStateCost(t *testing.T) {
	t.Parallel()
	a, _, rdb, names := pair(t, broker.DefaultLimits)
	ctx := context.Background()
	var ids []string
	for i := range 200 {
		id, _, _ := a.Publish(ctx, "u", fmt.Sprint("m", i), brokertest.Sample(i))
		ids = append(ids, id)
	}
	usage := func(key string) int64 { return rdb.MemoryUsage(ctx, key).Val() }
	if err := a.MarkRead(ctx, "u", broker.ReadMark{All: true}); err != nil {
		t.Fatal(err)
	}
	t.Logf("watermark (mark all): %d B", usage(names.ReadUpTo("u")))
	for _, n := range []int{1, 10, 100, 128, 129, 190} {
		rdb.Del(ctx, names.ReadUpTo("u"), names.ReadIDs("u"))
		// every other id, so the set never folds into the watermark
		var marks []string
		for i := 0; i < 2*n && i < len(ids); i += 2 {
			marks = append(marks, ids[i])
		}
		for len(marks) < n {
			marks = append(marks, ids[2*len(marks)-len(ids)+1])
		}
		if err := a.MarkRead(ctx, "u", broker.ReadMark{IDs: marks[:n]}); err != nil {
			t.Fatal(err)
		}
		t.Logf("read set of %d ids: %d B", rdb.ZCard(ctx, names.ReadIDs("u")).Val(), usage(names.ReadIDs("u")))
	}
	if _, err := a.SetPreferences(ctx, "u", broker.Prefs{MutedTypes: []string{"video_failed", "announcement"}, Push: false}); err != nil {
		t.Fatal(err)
	}
	t.Logf("preferences (2 muted types): %d B", usage(names.Prefs("u")))
}
