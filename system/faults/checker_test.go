package faults

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// The checker must be able to fail: these tests feed it arrivals with each kind of
// defect a broken cursor causes, by hand and from a real stream.

// TestFaultChecker_Audit feeds audit sequences of notification ids, each with one
// defect, and checks it names exactly that defect.
func TestFaultChecker_Audit(t *testing.T) {
	want := map[string][]string{
		ownLog:        {"1000-0", "1000-1", "1003-0", "1005-0"},
		"!all":        {"!all:1000-0", "!all:1004-0"},
		"@class-1":    {"@class-1:1001-0", "@class-1:1006-0"},
		"@empty-room": nil,
	}
	exact := []string{"1000-0", "!all:1000-0", "1000-1", "@class-1:1001-0", "1003-0", "!all:1004-0", "1005-0", "@class-1:1006-0"}
	type result struct{ lost, duplicated, foreign, outOfOrder, crossOrder int }
	for _, c := range []struct {
		name string
		got  []string
		want result
	}{
		{"exact", exact, result{}},
		{"logs interleaved within one millisecond", []string{"1000-0", "1000-1", "!all:1000-0", "@class-1:1001-0", "1003-0", "!all:1004-0", "1005-0", "@class-1:1006-0"}, result{}},
		{"gap in the broadcast log", without(exact, "!all:1004-0"), result{lost: 1}},
		{"gap in a group log", without(exact, "@class-1:1001-0"), result{lost: 1}},
		{"gap in the own log", without(exact, "1003-0"), result{lost: 1}},
		{"a group's notification twice", append(exact[:len(exact):len(exact)], "@class-1:1006-0"), result{duplicated: 1}},
		// The cursor lost its broadcast position on a reconnect after 1003-0: the
		// broadcast log is replayed from its start.
		{"broadcast log replayed from its start", splice(exact, 5, "!all:1000-0"), result{duplicated: 1}},
		// The cursor lost a group's position: the group restarted at its newest entry.
		{"group restarted at its newest", without(exact, "@class-1:1001-0"), result{lost: 1}},
		{"another group's notification", splice(exact, 2, "@class-2:1000-5"), result{foreign: 1}},
		{"another user's notification", splice(exact, 2, "1000-7"), result{foreign: 1}},
		{"an id without a known log", splice(exact, 2, "user-3:1000-0"), result{foreign: 1}},
		{"a log out of order", swap(exact, 0, 2), result{outOfOrder: 1}},
		{"logs out of creation order", swap(exact, 3, 4), result{crossOrder: 1}},
	} {
		a := audit(c.got, want)
		got := result{a.lost, a.duplicated, a.foreign, a.outOfOrder, a.crossOrder}
		if got != c.want || a.failed() != (c.want != result{}) {
			t.Errorf("%s: audit = %+v (%v), want %+v", c.name, got, a.problems, c.want)
		}
		if a.wanted["own"] != 4 || a.wanted["broadcast"] != 2 || a.wanted["group"] != 2 {
			t.Errorf("%s: wanted %v", c.name, a.wanted)
		}
	}
}

func without(ids []string, drop string) []string {
	var out []string
	for _, id := range ids {
		if id != drop {
			out = append(out, id)
		}
	}
	return out
}

func splice(ids []string, at int, id string) []string {
	out := append([]string{}, ids[:at]...)
	return append(append(out, id), ids[at:]...)
}

func swap(ids []string, i, j int) []string {
	out := append([]string{}, ids...)
	out[i], out[j] = out[j], out[i]
	return out
}

// TestFaultChecker_BrokenCursor runs real tabs that break the cursor they resume with
// (they know its text, which real clients must not rely on): a third drop the broadcast
// log's position (the stream replays that log from its start), a third drop their
// groups' positions (the stream starts those at their newest: what was published
// while the tab was away is never sent), a third resume intact. Streams end every
// ~1 s while own, group and broadcast notifications are published every 10 ms. The
// checker must report duplicates for the first, losses for the second, nothing for the
// third.
func TestFaultChecker_BrokenCursor(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	url := startInProcess(t, rs.Addr, map[string]string{"MAX_CONN_AGE": "1s"})
	const users = 9
	variant := func(user string) int { return userIndex(user) % 3 }
	dropParts := func(prefix string) func(string) string {
		return func(cursor string) string {
			var keep []string
			for part := range strings.SplitSeq(cursor, ".") {
				if !strings.HasPrefix(part, prefix) {
					keep = append(keep, part)
				}
			}
			return strings.Join(keep, ".")
		}
	}
	f := openTabsWith(t, users, 1, func(tb *tab) {
		switch variant(tb.user) {
		case 0:
			tb.mangle = dropParts("!all:")
		case 1:
			tb.mangle = dropParts("@")
		}
	}, func(ctx context.Context, tb *tab) { tb.run(ctx, func() string { return url }, time.Hour) })
	p := newPublisher(t, rs.Addr)
	for i := range 250 {
		p.publishTo(t, f, fmt.Sprint("user-", i%users))
		p.publishTo(t, f, fmt.Sprint("@class-", i%4)) // each class every 20 ms: a reconnect misses some
		p.publishTo(t, f, fmt.Sprint("@class-", (i+2)%4))
		if i%3 == 0 {
			p.publishTo(t, f, "!all")
		}
		if i%5 == 0 {
			p.publishTo(t, f, "@club")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.check(t, 2*time.Second)
	var by [3]counts
	f.mu.Lock()
	for _, tb := range f.tabs {
		by[variant(tb.user)].add(f.audit(tb), tb)
	}
	f.mu.Unlock()
	for i, name := range []string{"cursor without its broadcast position", "cursor without its group positions", "intact cursor"} {
		line := fmt.Sprintf("FAULT checker, %s: 3 tabs: %s", name, by[i])
		t.Log(line)
		fmt.Println(line)
	}
	if by[0].duplicated == 0 {
		t.Errorf("the checker saw no duplicate from tabs that drop the broadcast position: %s", by[0])
	}
	if by[1].lost == 0 {
		t.Errorf("the checker saw no loss from tabs that drop their groups' positions: %s", by[1])
	}
	// Order across logs is the faults' to assert (TestFault9_SlowRedisLink): what this
	// test breaks is the cursor, so the intact tabs are held to exactly once in log order.
	if c := by[2]; c.lost+c.duplicated+c.foreign+c.outOfOrder+c.resets > 0 {
		t.Errorf("tabs with an intact cursor: %s", c)
	}
}
