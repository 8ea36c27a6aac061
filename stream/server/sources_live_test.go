package server

// Issue 15, "one cursor": live delivery to each audience (helpers in sources_env_test.go).

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// TestSources_LiveAudiences: live, a group announcement reaches exactly the streams
// whose token names the group, a user-list notification exactly those users, and a
// broadcast every connected user; nobody gets another group's or user's.
func TestSources_LiveAudiences(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		alice := s.openTok(groupToken(t, "alice", time.Hour, g7), "", "")
		bob := s.openTok(groupToken(t, "bob", time.Hour, g7, gs), "", "")
		bobTab := s.openTok(groupToken(t, "bob", time.Hour, g7, gs), "", "") // a second tab
		carol := s.openTok(token(t, "carol", time.Hour), "", "")             // no groups claim
		dave := s.openTok(groupToken(t, "dave", time.Hour, gs, "not a group!"), "", "")

		want := map[*client][]string{}
		to := func(id string, cs ...*client) {
			for _, c := range cs {
				want[c] = append(want[c], id)
			}
		}
		to(s.send(src7), alice, bob, bobTab)
		for _, u := range []struct {
			user string
			c    []*client
		}{{"alice", []*client{alice}}, {"carol", []*client{carol}}} { // a user list: alice, carol
			to(s.send(u.user), u.c...)
		}
		s.send(src9)   // nobody's group
		s.send("erin") // nobody connected
		to(s.send(all), alice, bob, bobTab, carol, dave)
		to(s.send(srcS), bob, bobTab, dave)
		to(s.send(all), alice, bob, bobTab, carol, dave)

		for name, c := range map[string]*client{"alice": alice, "bob": bob, "bob's second tab": bobTab, "carol": carol, "dave": dave} {
			got, last := notes(t, c, len(want[c]))
			wantList(t, name+" received", got, want[c])
			c.quiet(200 * time.Millisecond)
			if _, err := cursor.Parse(last); err != nil {
				t.Errorf("%s: last SSE id %q is no cursor: %v", name, last, err)
			}
		}
		// The SSE id names every log the stream reads, and only those.
		_, last := func() ([]string, string) { s.send(all); return notes(t, bob, 1) }()
		c, _ := cursor.Parse(last)
		for _, k := range []string{cursor.Own, all, src7, srcS} {
			if !c.Has(k) {
				t.Errorf("bob's SSE id %q does not name %q", last, k)
			}
		}
		if len(c) != 4 {
			t.Errorf("bob's SSE id %q names other logs", last)
		}
	})
}

// TestSources_GroupsFollowTheToken: a group new in the token starts at its newest
// entry (its past is not replayed, what follows is sent); a group the token no longer
// names is not sent and leaves the cursor; a token without the group never gets it.
func TestSources_GroupsFollowTheToken(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		c := s.openTok(groupToken(t, "alice", time.Hour, g7), "", "")
		s.send(src7)
		_, last := notes(t, c, 1)
		c.close()
		s.send(srcS) // srcS's past: not alice's until her token names it
		s.send(srcS)
		own := s.send("alice")

		c = s.openTok(groupToken(t, "alice", time.Hour, g7, gs), last, "")
		got, last := notes(t, c, 1)
		wantList(t, "after joining "+gs, got, []string{own})
		if cur, err := cursor.Parse(last); err != nil || !cur.Has(srcS) {
			t.Errorf("SSE id %q does not name the new group %s", last, srcS)
		}
		c.quiet(200 * time.Millisecond)
		news := s.send(srcS)
		got, last = notes(t, c, 1)
		wantList(t, "live in the new group", got, []string{news})
		c.close()

		// Leaving class-7b: its notifications stop, its position leaves the cursor.
		s.send(src7)
		c = s.openTok(groupToken(t, "alice", time.Hour, gs), last, "")
		s.send(src7)
		own = s.send("alice")
		got, last = notes(t, c, 1)
		wantList(t, "after leaving "+g7, got, []string{own})
		if cur, _ := cursor.Parse(last); cur.Has(src7) {
			t.Errorf("SSE id %q still names %s", last, src7)
		}
		c.quiet(200 * time.Millisecond)
	})
}

// TestSources_TicketCarriesGroups: a stream opened with a ticket (EventSource cannot
// send a header) reads the groups of the token the ticket was issued for.
func TestSources_TicketCarriesGroups(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tk, status := s.ticketFor(groupToken(t, "alice", time.Hour, g7))
		if status != http.StatusCreated {
			t.Fatalf("ticket: %d", status)
		}
		c, status := s.tryOpen("", "", "?ticket="+tk)
		if status != http.StatusOK {
			t.Fatalf("open with ticket: %d", status)
		}
		s.send(src9)
		want := []string{s.send(src7), s.send(all)}
		got, _ := notes(t, c, 2)
		wantList(t, "with a ticket", got, want)
		c.quiet(200 * time.Millisecond)
	})
}

// TestSources_PubSubLossReplaysEveryKind: when the pub/sub connection is killed, own,
// group and broadcast notifications published during the gap reach the open stream
// once each, in order, from the logs (TestPubSubKilledStreamsCatchUp for all kinds).
func TestSources_PubSubLossReplaysEveryKind(t *testing.T) {
	s := newSourcesEnv(t, "redis", nil)
	tok := groupToken(t, "alice", time.Hour, aliceGroups...)
	c := s.openTok(tok, "", "")
	other := s.openTok(groupToken(t, "bob", time.Hour, g9), "", "")
	s.send(all)
	notes(t, c, 1)
	notes(t, other, 1)
	if err := s.rdb.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	var want, wantBob []string
	for _, k := range []string{src7, "alice", all, srcS, src9, all, "alice", src7} {
		id := s.send(k)
		if k != src9 {
			want = append(want, id)
		}
		if k == all || k == src9 {
			wantBob = append(wantBob, id)
		}
	}
	got, _ := notes(t, c, len(want))
	wantList(t, "alice after the pub/sub kill", got, want)
	c.quiet(300 * time.Millisecond)
	got, _ = notes(t, other, len(wantBob))
	wantList(t, "bob after the pub/sub kill", got, wantBob)
	other.quiet(100 * time.Millisecond)
}
