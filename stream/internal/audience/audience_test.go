package audience

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

var redisSrv *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.Main(m, func(s *redistest.Server) { redisSrv = s }))
}

var prefixes atomic.Int64

func newRedis(t testing.TB) (*redis.Client, rediskey.Names) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb, rediskey.Names{Prefix: fmt.Sprint("a", prefixes.Add(1))}
}

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestMembership: recording adds the user to each group and to everyone, a token that no
// longer names a group takes the user out of it, and a member not seen for 30 days is
// forgotten.
func TestMembership(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, names := newRedis(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	m := redisbroker.NewMembers(rdb, names, c.now)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	of := func(src string) []string {
		t.Helper()
		got, err := m.Of(ctx, src)
		must(err)
		return got
	}
	must(m.Record(ctx, "ada", []string{"7b", "chess"}))
	must(m.Record(ctx, "bob", []string{"7b"}))
	if got := of(broker.GroupSource("7b")); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Fatalf("7b = %v", got)
	}
	if got := of(broker.Everyone); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Fatalf("everyone = %v", got)
	}
	must(m.Record(ctx, "ada", []string{"chess"})) // left 7b
	if got := of(broker.GroupSource("7b")); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("7b after ada left = %v", got)
	}
	for _, k := range []string{names.UserGroups("ada"), names.Members(broker.GroupSource("7b")), names.MembersSeen(broker.Everyone)} {
		if !strings.Contains(k, "{ada}") && !strings.Contains(k, "{@7b}") && !strings.Contains(k, "{!all}") {
			t.Fatalf("key %s has no hash tag", k)
		}
	}
	c.add(20 * 24 * time.Hour)
	must(m.Record(ctx, "ada", []string{"chess"})) // seen again: renewed (over the refresh age)
	c.add(11 * 24 * time.Hour)                    // bob last seen 31 days ago
	if got := of(broker.Everyone); !slices.Equal(got, []string{"ada"}) {
		t.Fatalf("everyone after 31 days = %v, want bob forgotten", got)
	}
	if got := of(broker.GroupSource("7b")); len(got) != 0 {
		t.Fatalf("7b = %v, want empty", got)
	}
}

// TestRecordIsCheapWhenFresh: a stream open of a user recorded within the hour with the
// same groups writes nothing to the groups' slots.
func TestRecordIsCheapWhenFresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, names := newRedis(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	m := redisbroker.NewMembers(rdb, names, c.now)
	if err := m.Record(ctx, "ada", []string{"7b"}); err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, names.Members(broker.GroupSource("7b")))
	c.add(time.Minute)
	if err := m.Record(ctx, "ada", []string{"7b"}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, names.Members(broker.GroupSource("7b"))).Val(); n != 0 {
		t.Fatal("a fresh record rewrote the group's members")
	}
	c.add(2 * time.Hour)
	if err := m.Record(ctx, "ada", []string{"7b"}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, names.Members(broker.GroupSource("7b"))).Val(); n != 1 {
		t.Fatal("a record over an hour old was not renewed")
	}
}

// queuedUsers counts the push queue entries per user.
func queuedUsers(t *testing.T, rdb *redis.Client, names rediskey.Names) map[string]int {
	t.Helper()
	entries, err := rdb.XRange(context.Background(), names.PushQueue(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range entries {
		u, _ := e.Values[rediskey.PushFieldUser].(string)
		got[u]++
	}
	return got
}

// TestFanoutResumesAfterAnInstanceDies: instance A is stopped mid fan-out; B takes the
// job over after A's lease ends and finishes it. Every member is queued exactly once,
// and the pacing held (A queued no more than its rate allowed).
func TestFanoutResumesAfterAnInstanceDies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, names := newRedis(t)
	m := redisbroker.NewMembers(rdb, names, time.Now)
	const users = 600
	for i := range users {
		if err := m.Record(ctx, fmt.Sprintf("u%04d", i), []string{"7b"}); err != nil {
			t.Fatal(err)
		}
	}
	opts := FanoutOptions{Rate: 1000, Lease: 300 * time.Millisecond, Tick: 20 * time.Millisecond}
	a, b := NewFanout(rdb, names, m, opts), NewFanout(rdb, names, m, opts)
	if err := a.Start(ctx, "1-0", broker.GroupSource("7b"), []byte(`{"id":"@7b:1-0"}`)); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx, "1-0", broker.GroupSource("7b"), []byte(`{"id":"@7b:1-0"}`)); err != nil {
		t.Fatal(err) // the same entry handled twice starts one job
	}
	actx, kill := context.WithCancel(ctx)
	adone := make(chan struct{})
	start := time.Now()
	go func() { defer close(adone); a.Run(actx) }()
	for a.Queued() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	kill()
	<-adone
	aQueued, aTook := a.Queued(), time.Since(start)
	if aQueued >= users {
		t.Fatalf("A queued all %d before it was stopped", aQueued)
	}
	if limit := 1000*aTook.Seconds() + 100; float64(aQueued) > limit {
		t.Fatalf("A queued %d in %v: over its rate (at most %.0f)", aQueued, aTook, limit)
	}
	bctx, stopB := context.WithCancel(ctx)
	bdone := make(chan struct{})
	go func() { defer close(bdone); b.Run(bctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for a.Queued()+b.Queued() < users && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let a duplicate show, if there were one
	stopB()
	<-bdone
	got := queuedUsers(t, rdb, names)
	if len(got) != users {
		t.Fatalf("%d users queued, want %d (A %d, B %d)", len(got), users, a.Queued(), b.Queued())
	}
	for u, n := range got {
		if n != 1 {
			t.Fatalf("%s queued %d times", u, n)
		}
	}
	if b.Queued() == 0 {
		t.Fatal("B queued nothing: the job was not resumed")
	}
	if n := rdb.ZCard(ctx, names.Fanouts()).Val(); n != 0 {
		t.Fatalf("%d jobs still listed after the fan-out finished", n)
	}
}

// TestFanoutLostLease: an instance whose lease another took over cannot queue its batch.
func TestFanoutLostLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, names := newRedis(t)
	m := redisbroker.NewMembers(rdb, names, time.Now)
	for _, u := range []string{"a", "b"} {
		if err := m.Record(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	f := NewFanout(rdb, names, m, FanoutOptions{})
	if err := f.Start(ctx, "9-0", broker.Everyone, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// Another instance moved the cursor past "a" meanwhile.
	rdb.HSet(ctx, names.FanoutJob("9-0"), "cursor", "a")
	ok, err := expandScript.Run(ctx, rdb, []string{names.FanoutJob("9-0"), names.Fanouts(), names.PushQueue()},
		"9-0", "", "b", 0, "a", "b").Int()
	if err != nil || ok != 0 {
		t.Fatalf("stale batch: %d %v, want refused", ok, err)
	}
	if n := rdb.XLen(ctx, names.PushQueue()).Val(); n != 0 {
		t.Fatalf("stale batch queued %d entries", n)
	}
}
