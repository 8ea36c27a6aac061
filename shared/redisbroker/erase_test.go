package redisbroker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// naming returns every key of rdb (every master of a cluster) under prefix whose name
// contains text, and every member or field of the group-side sets and hashes that is
// text.
func naming(t *testing.T, rdb redis.UniversalClient, prefix, text string) []string {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var out []string
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			hit := strings.Contains(key, text)
			switch c.Type(ctx, key).Val() {
			case "zset":
				hit = hit || c.ZScore(ctx, key, text).Err() == nil
			case "hash":
				hit = hit || c.HExists(ctx, key, text).Val()
			}
			if hit {
				mu.Lock()
				out = append(out, key)
				mu.Unlock()
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, scan)
	} else {
		err = scan(ctx, rdb.(*redis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEraseUserLeavesNothing: after erase_user nothing under the prefix names the user
// (keys, group members, receipt fields, push window), another user's data is untouched,
// and a second erasure finds nothing.
func TestEraseUserLeavesNothing(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	fillUser(t, f, "erase-me", "g1")
	fillUser(t, f, "keep-me", "g1")
	f.rdb.HSet(ctx, f.names.PushWindow("erase-me"), "c", 1)
	f.rdb.ZAdd(ctx, f.names.PushDue(), redis.Z{Score: 1, Member: "erase-me"})
	before, err := f.p.Export(ctx, "keep-me", []string{"@g1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(naming(t, f.rdb, f.names.Prefix, "erase-me")) < 10 {
		t.Fatal("fixture stored too little to prove anything")
	}
	ps := f.rdb.Subscribe(ctx, f.names.Channel(broker.Everyone))
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.p.EraseUser(ctx, "erase-me")
	if err != nil {
		t.Fatal(err)
	}
	if left := naming(t, f.rdb, f.names.Prefix, "erase-me"); len(left) > 0 {
		t.Errorf("left after erasure: %v", left)
	}
	if got.Keys < 10 || got.GroupEntries < 3 {
		t.Errorf("erased %+v", got)
	}
	msg, err := ps.ReceiveMessage(ctx)
	if err != nil || msg.Payload != string(broker.Control{Kind: broker.ControlErase, Data: broker.EraseData("erase-me")}.Payload()) {
		t.Errorf("erase control = %v, %v", msg, err)
	}
	after, err := f.p.Export(ctx, "keep-me", []string{"@g1"})
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if err != nil || string(b1) != string(b2) {
		t.Errorf("another user's data changed:\n%s\n%s (%v)", b1, b2, err)
	}
	if again, err := f.p.EraseUser(ctx, "erase-me"); err != nil || again != (redisbroker.Erased{}) {
		t.Errorf("second erasure = %+v, %v; want nothing erased", again, err)
	}
}

// TestEraseRacingPublish: publishes to the user racing erasures never leave partial
// state behind: nothing but log entries and their dedupe markers is recreated, and
// every entry left has its marker (a redelivery is not stored twice); a marker may
// outlive its erased entry, which only keeps a redelivery of an erased notification
// out. Once the publishes stop, one more erasure (the retry Pub/Sub makes of one that
// failed) leaves nothing.
func TestEraseRacingPublish(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	fillUser(t, f, "racer", "g1")
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			for i := range 40 {
				if _, _, err := f.b.Publish(ctx, "racer", fmt.Sprintf("race-%d-%d", w, i), brokertest.Sample(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	erasures := 0
	go func() { wg.Wait(); close(done) }()
	for racing := true; racing; erasures++ {
		select {
		case <-done:
			racing = false
		default:
		}
		// An error (keys kept appearing) is retried by Pub/Sub: not a failure here.
		_, _ = f.p.EraseUser(ctx, "racer")
	}
	logKey := f.names.Log("racer")
	marked := map[string]bool{}
	for _, key := range naming(t, f.rdb, f.names.Prefix, "racer") {
		switch {
		case key == logKey:
		case strings.HasPrefix(key, f.names.Seen("racer", "race-")):
			marked[f.rdb.Get(ctx, key).Val()] = true
		default:
			t.Errorf("recreated after erasure: %s", key)
		}
	}
	for _, e := range f.rdb.XRange(ctx, logKey, "-", "+").Val() {
		if !marked[e.ID] {
			t.Errorf("entry %s has no dedupe marker: a redelivery would store it twice", e.ID)
		}
	}
	if _, err := f.p.EraseUser(ctx, "racer"); err != nil {
		t.Fatal(err)
	}
	if left := naming(t, f.rdb, f.names.Prefix, "racer"); len(left) > 0 {
		t.Errorf("left after the last erasure: %v", left)
	}
	t.Logf("%d erasures raced 80 publishes", erasures)
}

// TestEraseUserOnCluster: the same erasure on a Redis Cluster (3 masters): the user's
// keys on one shard, the groups' on others; nothing names the user afterwards.
func TestEraseUserOnCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	rdb := c.Client(t)
	ctx := context.Background()
	names := rediskey.Names{Prefix: c.Prefix()}
	p, err := redisbroker.NewPrivacy(rdb, names, broker.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	user := "cluster-user"
	groups := []string{"ga", "gb", "gc", "gd"}
	if err := p.RecordMembership(ctx, user, groups); err != nil {
		t.Fatal(err)
	}
	if err := p.RecordMembership(ctx, "other", groups); err != nil {
		t.Fatal(err)
	}
	// What the publish script writes (a log entry and its marker), written plainly: the
	// Broker's write path is the lead's to move onto the cluster client.
	var logs, items []string
	for _, g := range groups {
		logs = append(logs, broker.GroupSource(g))
		id := rdb.XAdd(ctx, &redis.XAddArgs{Stream: names.Log(broker.GroupSource(g)), Values: []string{"n", `{"type":"announcement"}`}}).Val()
		items = append(items, broker.GroupSource(g)+":"+id)
		if err := p.RecordReceipts(ctx, user, broker.ReadMark{IDs: []string{broker.GroupSource(g) + ":" + id}, Logs: logs}, true); err != nil {
			t.Fatal(err)
		}
	}
	own := rdb.XAdd(ctx, &redis.XAddArgs{Stream: names.Log(user), Values: []string{"n", `{"type":"video_complete"}`}}).Val()
	rdb.Set(ctx, names.Seen(user, "m1"), own, 0)
	rdb.Set(ctx, names.Prefs(user), `{"muted_types":[],"push":true}`, 0)
	rdb.HSet(ctx, names.PushSubscriptions(user), "https://push.example/x", "{}")
	rdb.HSet(ctx, names.PushWindow(user), "c", 1)
	if err := p.RecordReceipts(ctx, user, broker.ReadMark{All: true, Logs: logs}, false); err != nil {
		t.Fatal(err)
	}
	for _, item := range items {
		rep, err := p.Receipts(ctx, item, "", 10)
		if err != nil || rep.Audience != 2 || rep.Read != 1 || rep.Readers[0].User != user {
			t.Errorf("receipts of %s on the cluster: %+v, %v", item, rep, err)
		}
	}
	if n := len(naming(t, rdb, names.Prefix, user)); n < 10 {
		t.Fatalf("fixture names the user in %d keys only", n)
	}
	ex, err := p.Export(ctx, user, logs)
	if err != nil || len(ex.Notifications) != 5 || len(ex.Groups) != 4 || len(ex.Receipts) != 5 {
		t.Errorf("export on the cluster: %+v, %v", ex, err)
	}
	if _, err := p.EraseUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	if left := naming(t, rdb, names.Prefix, user); len(left) > 0 {
		t.Errorf("left after erasure: %v", left)
	}
	if n := rdb.ZCard(ctx, names.Members("@ga")).Val(); n != 1 {
		t.Errorf("ga has %d members, want 1 (other)", n)
	}
}
