package redisbroker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// privacyFixture is a broker and a privacy store on one prefix, with a clock the test
// moves.
type privacyFixture struct {
	b     *redisbroker.Broker
	p     *redisbroker.Privacy
	rdb   redis.UniversalClient
	names rediskey.Names
	clock atomic.Int64 // unix ms
}

func newPrivacy(t *testing.T) *privacyFixture {
	t.Helper()
	b, _, rdb, names := pair(t, broker.DefaultLimits)
	p, err := redisbroker.NewPrivacy(rdb, names, broker.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	f := &privacyFixture{b: b, p: p, rdb: rdb, names: names}
	f.clock.Store(time.Now().UnixMilli())
	redisbroker.SetPrivacyClock(p, func() time.Time { return time.UnixMilli(f.clock.Load()) })
	return f
}

func (f *privacyFixture) publish(t *testing.T, source string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, _, err := f.b.Publish(context.Background(), source, fmt.Sprint("m", source, i, time.Now().UnixNano()), brokertest.Sample(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestReceiptsKeepFirstTimes: the first seen and first read times stay; a read counts
// as seen; ids the logs do not hold and ids of logs the mark does not list are ignored.
func TestReceiptsKeepFirstTimes(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	ids := f.publish(t, "@g1", 2)
	logs := []string{"@g1"}
	t0 := f.clock.Load()
	if err := f.p.RecordReceipts(ctx, "amy", broker.ReadMark{IDs: ids[:1], Logs: logs}, false); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(5000)
	for _, read := range []bool{true, false, true} { // later marks change nothing more
		if err := f.p.RecordReceipts(ctx, "amy", broker.ReadMark{IDs: ids[:1], Logs: logs}, read); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(1000)
	}
	if err := f.p.RecordReceipts(ctx, "bob", broker.ReadMark{IDs: ids[:1], Logs: logs}, true); err != nil {
		t.Fatal(err)
	}
	// Not held, another group's log not listed: nothing recorded.
	if err := f.p.RecordReceipts(ctx, "cat", broker.ReadMark{IDs: []string{"@g1:1-0", "@g2:" + ids[1][4:]}, Logs: logs}, true); err != nil {
		t.Fatal(err)
	}
	rep, err := f.p.Receipts(ctx, ids[0], "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []redisbroker.Receipt{
		{User: "amy", SeenAt: time.UnixMilli(t0).UTC(), ReadAt: time.UnixMilli(t0 + 5000).UTC()},
		{User: "bob", SeenAt: time.UnixMilli(t0 + 8000).UTC(), ReadAt: time.UnixMilli(t0 + 8000).UTC()},
	}
	if fmt.Sprint(rep.Readers) != fmt.Sprint(want) || rep.Seen != 2 || rep.Read != 2 {
		t.Errorf("report = %+v, want readers %v, 2 seen, 2 read", rep, want)
	}
	if n := f.rdb.Exists(ctx, f.names.Receipts("cat")).Val(); n != 0 {
		t.Errorf("receipts recorded for ids not held or not listed")
	}
	if rep, err := f.p.Receipts(ctx, ids[1], "", 10); err != nil || len(rep.Readers) != 0 || rep.Seen != 0 {
		t.Errorf("a notification nobody saw: %+v, %v", rep, err)
	}
	for _, id := range []string{"@g1:1-0", "amy-own", "5-0", "!all:5-0"} {
		if _, err := f.p.Receipts(ctx, id, "", 10); !errors.Is(err, redisbroker.ErrNoGroupNotification) {
			t.Errorf("Receipts(%s) = %v, want ErrNoGroupNotification", id, err)
		}
	}
}

// TestReceiptsMarkAll: a mark of all records the notifications stored since the last
// one, once: a second mark of all does not move the first times.
func TestReceiptsMarkAll(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	ids := f.publish(t, "@g1", 3)
	own := f.publish(t, "amy", 2)
	all := broker.ReadMark{All: true, Logs: []string{"@g1"}}
	t0 := f.clock.Load()
	if err := f.p.RecordReceipts(ctx, "amy", all, true); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(1000)
	later := f.publish(t, "@g1", 1)
	if err := f.p.RecordReceipts(ctx, "amy", all, true); err != nil {
		t.Fatal(err)
	}
	for i, id := range append(ids, later...) {
		rep, err := f.p.Receipts(ctx, id, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		want := t0
		if i == 3 {
			want = t0 + 1000
		}
		if len(rep.Readers) != 1 || rep.Readers[0].ReadAt.UnixMilli() != want {
			t.Errorf("%s: readers %+v, want amy read at %d", id, rep.Readers, want)
		}
	}
	got := f.rdb.HGetAll(ctx, f.names.Receipts("amy")).Val()
	for _, id := range own {
		if got[id] != fmt.Sprintf("%d %d", t0, t0) {
			t.Errorf("own %s: %q", id, got[id])
		}
	}
}

// TestReceiptsPageAThousandReaders: a group of 1,000 pages through its readers in
// user order, every reader once, and the counts cover them all.
func TestReceiptsPageAThousandReaders(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	id := f.publish(t, "@class", 1)[0]
	for i := range 1000 {
		user := fmt.Sprintf("s%04d", i)
		if err := f.p.RecordMembership(ctx, user, []string{"class"}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := f.p.RecordReceipts(ctx, user, broker.ReadMark{IDs: []string{id}, Logs: []string{"@class"}}, i%4 == 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	var users []string
	after := ""
	for pages := 0; ; pages++ {
		rep, err := f.p.Receipts(ctx, id, after, 128)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Audience != 1000 || rep.Seen != 500 || rep.Read != 250 {
			t.Fatalf("audience %d, seen %d, read %d; want 1000, 500, 250", rep.Audience, rep.Seen, rep.Read)
		}
		for _, r := range rep.Readers {
			users = append(users, r.User)
		}
		if rep.Next == "" || pages > 10 {
			break
		}
		after = rep.Next
	}
	if len(users) != 500 {
		t.Fatalf("paged %d readers, want 500", len(users))
	}
	for i, u := range users {
		if want := fmt.Sprintf("s%04d", 2*i); u != want {
			t.Fatalf("reader %d = %s, want %s", i, u, want)
		}
	}
}

// TestMembershipFollowsTheToken: the groups a token shows replace the recorded ones;
// a membership not refreshed for 30 days no longer counts.
func TestMembershipFollowsTheToken(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	if err := f.p.RecordMembership(ctx, "amy", []string{"g1", "g2"}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RecordMembership(ctx, "bob", []string{"g1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.RecordMembership(ctx, "amy", []string{"g2"}); err != nil {
		t.Fatal(err)
	}
	if got := f.rdb.ZRange(ctx, f.names.Members("@g1"), 0, -1).Val(); fmt.Sprint(got) != "[bob]" {
		t.Errorf("g1 members %v, want [bob]", got)
	}
	if got := f.rdb.ZRange(ctx, f.names.UserGroups("amy"), 0, -1).Val(); fmt.Sprint(got) != "[!all @g2]" {
		t.Errorf("amy's groups %v, want [!all @g2]", got)
	}
	id := f.publish(t, "@g1", 1)[0]
	f.clock.Add((redisbroker.MembershipTTL + time.Hour).Milliseconds())
	if err := f.p.RecordMembership(ctx, "cat", []string{"g1"}); err != nil {
		t.Fatal(err)
	}
	rep, err := f.p.Receipts(ctx, id, "", 10)
	if err != nil || rep.Audience != 1 {
		t.Errorf("audience after bob's 30 days = %d, %v; want 1 (cat)", rep.Audience, err)
	}
}

// TestReceiptCost measures what receipts add per user (docs/PERFORMANCE.md): the
// user's receipts hash, and one reader's share of a group notification's hash.
func TestReceiptCost(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	own := f.publish(t, "u", 200)
	group := f.publish(t, "@g", 200)
	usage := func(key string) int64 {
		t.Helper()
		n, err := f.rdb.MemoryUsage(ctx, key).Result()
		if err != nil {
			t.Fatalf("MEMORY USAGE %s: %v", key, err)
		}
		return n
	}
	for _, n := range []int{1, 10, 100, 128, 129, 200} {
		f.rdb.Del(ctx, f.names.Receipts("u"))
		if err := f.p.RecordReceipts(ctx, "u", broker.ReadMark{IDs: own[:n]}, true); err != nil {
			t.Fatal(err)
		}
		t.Logf("own log, %d notifications read: receipts hash %d B (%d B each)", n, usage(f.names.Receipts("u")), usage(f.names.Receipts("u"))/int64(n))
	}
	f.rdb.Del(ctx, f.names.Receipts("u"))
	if err := f.p.RecordReceipts(ctx, "u", broker.ReadMark{IDs: group[:100], Logs: []string{"@g"}}, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("group log, 100 notifications read: user's receipts hash %d B", usage(f.names.Receipts("u")))
	for _, n := range []int{1, 128, 129, 1000} {
		key := f.names.GroupReceipts("@g", group[0][3:])
		f.rdb.Del(ctx, key)
		for i := range n {
			if err := f.p.RecordReceipts(ctx, fmt.Sprintf("student-%04d", i), broker.ReadMark{IDs: group[:1], Logs: []string{"@g"}}, true); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("one group notification, %d readers: %d B (%d B each)", n, usage(key), usage(key)/int64(n))
	}
}

// TestReceiptsOfExpiredNotificationsArePruned: a user's receipts hash does not keep the
// receipts of notifications past the retention, though each mark renews its TTL.
// Not parallel: it changes the package's prune threshold.
func TestReceiptsOfExpiredNotificationsArePruned(t *testing.T) {
	defer redisbroker.SetReceiptPruneAt(3)()
	f := newPrivacy(t)
	ctx := context.Background()
	old := time.UnixMilli(f.clock.Load()).Add(-broker.DefaultLimits.Retention - time.Hour).UnixMilli()
	key := f.names.Receipts("amy")
	f.rdb.HSet(ctx, key, fmt.Sprintf("%d-0", old), "1 1", fmt.Sprintf("@g:%d-0", old), "1 0", "~r:amy", fmt.Sprintf("%d-0", old))
	ids := f.publish(t, "amy", 2)
	if err := f.p.RecordReceipts(ctx, "amy", broker.ReadMark{IDs: ids}, true); err != nil {
		t.Fatal(err)
	}
	got := f.rdb.HKeys(ctx, key).Val()
	if len(got) != 3 || !slices.Contains(got, ids[0]) || !slices.Contains(got, ids[1]) || !slices.Contains(got, "~r:amy") {
		t.Errorf("after pruning: %v, want the 2 new receipts and the watermark", got)
	}
}
