package server

// Issue 15, "one cursor" (DESIGN.md "Input: notifications from any service"): a stream
// reads the user's own log, the broadcast log and one log per group its token names;
// its SSE id is one cursor over all of them. Each test here runs on both brokers (the
// Redis broker against a real redis-server, and broker.Memory as the local system runs
// it) unless it needs Redis itself, and each compares the whole list a client got with
// the whole list that was published to its audience, so a skipped or repeated
// notification of any kind fails it.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// srcEnv is a stream server over one broker, and the publishing side of that broker.
type srcEnv struct {
	*env
	kind string
	b    broker.Broker // the function's Redis broker, or the server's own Memory
}

// bothBrokers runs test once over the Redis broker and once over broker.Memory.
func bothBrokers(t *testing.T, test func(t *testing.T, s *srcEnv)) {
	for _, kind := range []string{"redis", "memory"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, newSourcesEnv(t, kind, nil))
		})
	}
}

// newSourcesEnv starts a stream server over a broker of kind ("redis": the harness's
// limits and a prefix of its own; "memory": broker.Memory with the same limits and
// MemoryDeps), the server's broker wrapped by wrap when it is set.
func newSourcesEnv(t *testing.T, kind string, wrap func(Broker) Broker) *srcEnv {
	t.Helper()
	if wrap == nil {
		wrap = func(b Broker) Broker { return b }
	}
	e := &env{t: t, names: rediskey.Names{Prefix: fmt.Sprintf("s%d", prefixes.Add(1))}}
	s := &srcEnv{env: e, kind: kind}
	var deps Deps
	switch kind {
	case "redis":
		e.rdb, e.pub = newBroker(t, e.names)
		s.b = e.pub
		_, b := newBroker(t, e.names) // the server's, as a separate process would have
		deps = Deps{Broker: wrap(b), Tickets: ticket.NewRedisStore(b.Client(), e.names),
			Presence: presence.NewRedis(b.Client(), e.names, time.Now)}
	case "memory":
		mem, err := broker.NewMemory(broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		s.b = mem
		if deps, err = MemoryDeps(context.Background(), testConfig(), wrap(mem)); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown broker %q", kind)
	}
	srv, _, err := Build(testConfig(), deps, e.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.url, e.srv, e.stop, e.served = "http://"+ln.Addr().String(), srv, cancel, make(chan error, 1)
	go func() { e.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { e.shutdown() })
	e.waitReady()
	return s
}

// Group names of these tests, and their sources.
const (
	g7, g9, gs = "class-7b", "class-9", "school_3"
)

var (
	src7, src9, srcS = broker.GroupSource(g7), broker.GroupSource(g9), broker.GroupSource(gs)
	all              = broker.Everyone
)

// announcement is a notification from another service.
func announcement(title string, expires *time.Time) notification.Notification {
	n := notification.Notification{Type: "announcement", Severity: notification.SeverityWarning, Title: title,
		Text: "about " + title, Link: "https://app.example/n", CreatedAt: notification.Timestamp{Time: time.Now().UTC().Truncate(time.Millisecond)}}
	if expires != nil {
		n.ExpiresAt = &notification.Timestamp{Time: expires.UTC().Truncate(time.Millisecond)}
	}
	return n
}

// send stores one notification in source's log as the function does (an announcement
// for a group or everyone, a job notification for a user) and returns its id. It waits
// 2 ms afterwards so that no two notifications share a millisecond: the positions of
// different Redis logs then compare as their creation order (within one millisecond
// two logs can hold the same position, and the merge orders those by source).
func (s *srcEnv) send(source string) string {
	s.t.Helper()
	n := brokertest.Sample(int(msgSeq.Add(1)))
	if !broker.IsUserSource(source) {
		n = announcement(fmt.Sprint("a-", msgSeq.Add(1)), nil)
	}
	return s.sendN(source, n)
}

func (s *srcEnv) sendN(source string, n notification.Notification) string {
	s.t.Helper()
	id, dup, err := s.b.Publish(context.Background(), source, fmt.Sprint("src-", msgSeq.Add(1)), n)
	if err != nil || dup {
		s.t.Fatalf("publish to %s: %v (duplicate %v)", source, err, dup)
	}
	time.Sleep(2 * time.Millisecond)
	return id
}

// expiring publishes an announcement (a job notification for a user) to source that
// expires at at.
func (s *srcEnv) expiring(source string, at time.Time) string {
	s.t.Helper()
	n := announcement(fmt.Sprint("x-", msgSeq.Add(1)), &at)
	if broker.IsUserSource(source) {
		n = brokertest.Sample(int(msgSeq.Add(1)))
		n.ExpiresAt = &notification.Timestamp{Time: at.UTC().Truncate(time.Millisecond)}
	}
	return s.sendN(source, n)
}

// openTok opens a stream with tok, resuming from lastID (Last-Event-ID) when set.
func (s *srcEnv) openTok(tok, lastID, query string) *client {
	s.t.Helper()
	c, status := s.tryOpen(tok, lastID, query)
	if status != http.StatusOK {
		s.t.Fatalf("open stream: status %d", status)
	}
	return c
}

// noteID is the notification id in a notification frame's data.
func noteID(t *testing.T, f frame) string {
	t.Helper()
	var n struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(f.data), &n); err != nil || n.ID == "" {
		t.Fatalf("frame %+v: data without an id (%v)", f, err)
	}
	return n.ID
}

// notes reads n notification frames (resets are not notifications: they fail the
// test) and returns their notification ids and the SSE id of the last.
func notes(t *testing.T, c *client, n int) (ids []string, last string) {
	t.Helper()
	for _, f := range c.events(n) {
		if f.event == "reset" {
			t.Fatalf("unexpected reset %+v", f)
		}
		ids = append(ids, noteID(t, f))
		last = f.id
	}
	return ids, last
}

// upTo reads notification frames until it has max of them or none came for idle.
func upTo(t *testing.T, c *client, max int, idle time.Duration) (ids []string, last string) {
	t.Helper()
	others := 0
	for len(ids) < max {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("stream ended")
			}
			if f.event == "" {
				if others++; others > 1000 {
					t.Fatalf("over 1000 frames without an event; the last %+v", f)
				}
				continue
			}
			if f.event == "reset" {
				t.Fatalf("unexpected reset %+v", f)
			}
			ids, last = append(ids, noteID(t, f)), f.id
		case <-time.After(idle):
			return ids, last
		}
	}
	return ids, last
}

// wantList fails unless got is exactly want, naming what is missing and what repeats.
func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

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

// aliceKinds are the sources of alice's stream in the tests below, and noise published to
// logs she does not read.
var (
	aliceGroups = []string{g7, gs}
	aliceKinds  = []string{"alice", src7, all, srcS}
	noise       = []string{src9, "bob"}
)

// TestSources_ReplayAfterReconnect: a client that reconnects with its last SSE id (the
// Last-Event-ID header, or last_event_id for a fresh page load) gets the own, group and
// broadcast notifications it missed, together, in creation order, each once — and
// nothing of logs it does not read — then live ones.
func TestSources_ReplayAfterReconnect(t *testing.T) {
	for _, via := range []string{"header", "query"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			bothBrokers(t, func(t *testing.T, s *srcEnv) {
				tok := groupToken(t, "alice", time.Hour, aliceGroups...)
				c := s.openTok(tok, "", "")
				first := s.send(src7)
				_, last := notes(t, c, 1)
				c.close()

				var want []string
				for i, k := range []string{"alice", src7, all, srcS, "alice", all, src7, srcS, srcS, all, "alice", "alice", all} {
					want = append(want, s.send(k))
					s.send(noise[i%len(noise)])
				}
				var r *client
				if via == "header" {
					r = s.openTok(tok, last, "")
				} else {
					r = s.openTok(tok, "", "?last_event_id="+url.QueryEscape(last))
				}
				got, _ := notes(t, r, len(want))
				wantList(t, "replayed after "+first, got, want)
				r.quiet(300 * time.Millisecond)
				live := s.send(srcS)
				if got, _ := notes(t, r, 1); got[0] != live {
					t.Errorf("live after replay: %v, want %s", got, live)
				}
			})
		})
	}
}

// TestSources_ReconnectMidSequence: a client reconnects again and again in the middle
// of a sequence that mixes the kinds (some of it replayed, some live, some published
// while it is away, cut in the middle of a replay and in the middle of live delivery);
// the concatenation of everything it received is exactly what was published to it.
// A cursor that skips or repeats any one kind fails this.
func TestSources_ReconnectMidSequence(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		rng := rand.New(rand.NewPCG(15, 1))
		var published, received []string
		pub := func(n int) {
			for range n {
				published = append(published, s.send(aliceKinds[rng.IntN(len(aliceKinds))]))
				if rng.IntN(4) == 0 {
					s.send(noise[rng.IntN(len(noise))])
				}
			}
		}
		last := ""
		for round := range 12 {
			c := s.openTok(tok, last, "")
			pub(rng.IntN(4)) // live
			pending := len(published) - len(received)
			if pending > 0 {
				got, id := notes(t, c, 1+rng.IntN(pending)) // stop anywhere: in the replay or live
				received, last = append(received, got...), id
			}
			c.close()
			pub(rng.IntN(6)) // while away
			if t.Failed() {
				t.Fatalf("round %d", round)
			}
		}
		c := s.openTok(tok, last, "")
		got, _ := notes(t, c, len(published)-len(received))
		received = append(received, got...)
		c.quiet(300 * time.Millisecond)
		wantList(t, "received over 12 reconnects", received, published)
		if len(published) < 30 {
			t.Fatalf("only %d published: the sequence proves little", len(published))
		}
	})
}

// TestSources_ConcurrentReconnects: the same while a publisher keeps publishing, so
// reconnects race with publishing (live and replay overlap). Per log nothing is
// skipped or repeated, and everything arrives.
func TestSources_ConcurrentReconnects(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		const total = 120
		// A fresh stream starts live and says where it starts (an id-only frame): that
		// is the first resume point, taken before anything is published.
		c := s.openTok(tok, "", "")
		last := c.next().id
		if _, err := cursor.Parse(last); err != nil {
			t.Fatalf("fresh stream's first id %q: %v", last, err)
		}
		c.close()
		var mu sync.Mutex
		var published []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			rng := rand.New(rand.NewPCG(15, 2))
			for range total {
				id, _, err := s.b.Publish(context.Background(), aliceKinds[rng.IntN(len(aliceKinds))], fmt.Sprint("c-", msgSeq.Add(1)),
					announcement("c", nil))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				published = append(published, id)
				mu.Unlock()
				time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
			}
		}()
		rng := rand.New(rand.NewPCG(15, 3))
		var received []string
		empty := 0 // reconnects in a row that brought nothing once everything was published
		for reconnects := 0; ; reconnects++ {
			c = s.openTok(tok, last, "")
			got, id := upTo(t, c, 1+rng.IntN(8), 150*time.Millisecond)
			c.close()
			received = append(received, got...)
			if id != "" {
				last = id
			}
			select {
			case <-done:
			default:
				continue
			}
			mu.Lock()
			n := len(published)
			mu.Unlock()
			if len(received) >= n {
				t.Logf("%d reconnects", reconnects)
				break
			}
			if empty++; len(got) > 0 {
				empty = 0
			}
			if empty > 10 {
				t.Fatalf("after %d reconnects, %d of %d received; (-published +received):\n%s", reconnects, len(received), n,
					cmp.Diff(published, received))
			}
		}
		c = s.openTok(tok, last, "")
		c.quiet(300 * time.Millisecond)
		// Per log: exactly that log's notifications, in order.
		byLog := func(ids []string) map[string][]string {
			out := map[string][]string{}
			for _, id := range ids {
				src, _, _, _ := broker.SplitItemID(id)
				out[src] = append(out[src], id)
			}
			return out
		}
		if diff := cmp.Diff(byLog(published), byLog(received)); diff != "" {
			t.Errorf("per log (-published +received):\n%s", diff)
		}
		// Across logs, creation order: report inversions (see
		// TestSources_ResumeKeepsCreationOrderWhenPublishRacesReplay for the cause).
		if !slices.Equal(received, published) {
			t.Logf("cross-log order differs from publish order (same per-log lists):\n%s", cmp.Diff(published, received))
		}
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

// TestSources_History: the history lists own, group and broadcast notifications
// together in creation order (and nothing of other logs); paging with next as after
// walks them all, each once; next used as Last-Event-ID resumes exactly after the last
// item listed.
func TestSources_History(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		var old []string
		for _, k := range aliceKinds {
			old = append(old, s.send(k))
		}
		p, status := s.history(tok, "")
		if status != http.StatusOK {
			t.Fatalf("history: %d", status)
		}
		wantList(t, "history of one of each kind", pageIDs(p), old)
		start := p.Next
		if c, err := cursor.Parse(start); err != nil || len(c) != 4 {
			t.Fatalf("next %q: %v; want a cursor naming the four logs", start, err)
		}

		var want []string
		for i, k := range []string{src7, "alice", all, srcS, all, all, "alice", src7, srcS, "alice", src7} {
			want = append(want, s.send(k))
			s.send(noise[i%len(noise)])
		}
		p, _ = s.history(tok, "?limit=4")
		wantList(t, "newest 4", pageIDs(p), want[len(want)-4:])
		p, _ = s.history(tok, "?limit=200")
		wantList(t, "everything", pageIDs(p), append(slices.Clone(old), want...))

		for _, limit := range []int{1, 2, 3, 200} {
			var walked []string
			for after, pages := start, 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				p, status := s.history(tok, fmt.Sprintf("?limit=%d&after=%s", limit, url.QueryEscape(after)))
				if status != http.StatusOK {
					t.Fatalf("limit %d after %s: %d", limit, after, status)
				}
				if len(p.Notifications) == 0 {
					if p.Next != "" {
						t.Errorf("empty page with next %q", p.Next)
					}
					break
				}
				if len(p.Notifications) > limit {
					t.Errorf("page of %d, limit %d", len(p.Notifications), limit)
				}
				walked, after = append(walked, pageIDs(p)...), p.Next
			}
			wantList(t, fmt.Sprintf("walked with limit %d", limit), walked, want)
		}

		// next as Last-Event-ID: the stream resumes after the last item listed.
		p, _ = s.history(tok, "?limit=5&after="+url.QueryEscape(start))
		wantList(t, "first page", pageIDs(p), want[:5])
		c := s.openTok(tok, p.Next, "")
		got, _ := notes(t, c, len(want)-5)
		wantList(t, "stream from the page's next", got, want[5:])
		c.quiet(300 * time.Millisecond)

		// Another user's history holds his own and the broadcasts, none of alice's
		// groups or her own.
		p, _ = s.history(token(t, "bob", time.Hour), "?limit=200")
		n := 0
		for _, id := range pageIDs(p) {
			if src, _, own, _ := broker.SplitItemID(id); !own && src != all || slices.Contains(want, id) && src != all {
				t.Errorf("bob's history holds %s", id)
			}
			n++
		}
		if n == 0 {
			t.Error("bob's history is empty")
		}
	})
}

// TestSources_ExpiredNeverSent: a notification past its expires_at is not sent live,
// not replayed and not listed, whatever its log; one not yet expired is.
func TestSources_ExpiredNeverSent(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		past, later := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
		c := s.openTok(tok, "", "")
		var want []string
		for _, k := range aliceKinds {
			s.expiring(k, past)
			want = append(want, s.expiring(k, later))
		}
		got, last := notes(t, c, len(want))
		wantList(t, "live", got, want)
		c.quiet(200 * time.Millisecond)
		c.close()

		soon := time.Now().Add(300 * time.Millisecond)
		var replay []string
		for _, k := range aliceKinds {
			s.expiring(k, past)
			s.expiring(k, soon) // expires while the client is away
			replay = append(replay, s.send(k))
		}
		time.Sleep(time.Until(soon) + 50*time.Millisecond)
		r := s.openTok(tok, last, "")
		got, last = notes(t, r, len(replay))
		wantList(t, "replayed", got, replay)
		r.quiet(200 * time.Millisecond)

		p, _ := s.history(tok, "?limit=200")
		wantList(t, "history", pageIDs(p), append(slices.Clone(want), replay...))
		var walked []string
		for after := "0-0." + src7 + ":0-0." + srcS + ":0-0"; ; {
			p, _ := s.history(tok, "?limit=1&after="+url.QueryEscape(after))
			if len(p.Notifications) == 0 {
				break
			}
			walked, after = append(walked, pageIDs(p)...), p.Next
		}
		wantList(t, "paged one at a time", walked, append(slices.Clone(want), replay...))
		// The resume point moved past the expired ones: nothing comes back.
		r.close()
		s.openTok(tok, last, "").quiet(300 * time.Millisecond)
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

// readFrames reads frames until none comes for idle, and returns the resets among them,
// the notification ids, and the last SSE id.
func readFrames(t *testing.T, c *client, idle time.Duration) (resets []frame, ids []string, last string) {
	t.Helper()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("stream ended")
			}
			switch f.event {
			case "":
			case "reset":
				resets, last = append(resets, f), f.id
			default:
				ids, last = append(ids, noteID(t, f)), f.id
			}
		case <-time.After(idle):
			return resets, ids, last
		}
	}
}

// trim publishes more than the log holds (MaxLen 20) to source while the client is
// away, and returns the oldest id it still holds and the newest.
func (s *srcEnv) trim(source string) (oldest, newest string) {
	var ids []string
	for range 25 {
		ids = append(ids, s.send(source))
	}
	return ids[5], ids[24]
}

// checkReset checks that resets holds exactly one reset for source, and that it names
// the oldest id the log still holds and moves the cursor to its newest.
func checkReset(t *testing.T, resets []frame, source, oldest, newest string) {
	t.Helper()
	var mine []frame
	for _, f := range resets {
		var d struct{ Reason, Oldest string }
		if err := json.Unmarshal([]byte(f.data), &d); err != nil {
			t.Fatalf("reset data %q: %v", f.data, err)
		}
		if strings.HasPrefix(d.Oldest, broker.ItemPrefix(source)) {
			mine = append(mine, f)
			if d.Reason != "expired" || d.Oldest != oldest {
				t.Errorf("reset of %s: %s, want reason expired and oldest %s", source, f.data, oldest)
			}
			c, err := cursor.Parse(f.id)
			_, pos, _, _ := broker.SplitItemID(newest)
			if err != nil || c[source] != pos {
				t.Errorf("reset id %q: want %s at %s", f.id, source, pos)
			}
		}
	}
	if len(mine) != 1 {
		t.Errorf("%d resets for %s, want 1 (all resets: %+v)", len(mine), source, resets)
	}
}

// TestSources_TrimmedGroupLogResets: when a group's log no longer holds the client's
// position in it, the stream sends event: reset for that log (data: the oldest id it
// holds; id: the cursor with that log at its newest) and replays the other logs, which
// lost nothing.
func TestSources_TrimmedGroupLogResets(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		c := s.openTok(tok, "", "")
		s.send(src7)
		_, last := notes(t, c, 1)
		c.close()
		var want []string
		want = append(want, s.send("alice"), s.send(all))
		oldest, newest := s.trim(src7)
		want = append(want, s.send("alice"), s.send(srcS))

		r := s.openTok(tok, last, "")
		resets, got, _ := readFrames(t, r, 300*time.Millisecond)
		checkReset(t, resets, src7, oldest, newest)
		wantList(t, "the other logs replayed", got, want)
		live := s.send(src7)
		if got, _ := notes(t, r, 1); got[0] != live {
			t.Errorf("live in the reset group: %v, want %s", got, live)
		}
	})
}

// TestSources_UnknownGroupPositionResets: a group position past the newest its log
// ever held gets event: reset "unknown" for that log (its id: the cursor with the log at
// its newest) while the own log replays; the history refuses it as after (400), as it
// refuses the largest id of the own log.
func TestSources_UnknownGroupPositionResets(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, g7)
		newest := s.send(src7)
		own := s.send("alice")
		_, newestPos, _, _ := broker.SplitItemID(newest)
		last := "0-0." + src7 + ":" + rediskey.Max.String()
		r := s.openTok(tok, last, "")
		resets, got, _ := readFrames(t, r, 300*time.Millisecond)
		wantList(t, "own log replayed", got, []string{own})
		if len(resets) != 1 {
			t.Fatalf("resets %+v, want one", resets)
		}
		var d struct{ Reason, Oldest string }
		_ = json.Unmarshal([]byte(resets[0].data), &d)
		c, err := cursor.Parse(resets[0].id)
		if err != nil || c[src7] != newestPos || d.Reason != "unknown" || d.Oldest != newest {
			t.Errorf("reset %+v: want reason unknown, oldest %s, id with %s at %s", resets[0], newest, src7, newestPos)
		}
		if _, status := s.history(tok, "?after="+url.QueryEscape(last)); status != http.StatusBadRequest {
			t.Errorf("history after %s: %d, want 400", last, status)
		}
	})
}

// TestSources_EveryTrimmedLogResets: when two logs (a group's and the broadcast log)
// both lost the client's position, each gets its reset. Otherwise the client never
// learns of the second gap: that log is silently read no further in this replay, and
// once a live notification of it moves the cursor, no later resume reports it either.
func TestSources_EveryTrimmedLogResets(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		c := s.openTok(tok, "", "")
		s.send(src7)
		s.send(all)
		_, last := notes(t, c, 2)
		c.close()
		oldest7, newest7 := s.trim(src7)
		oldestAll, newestAll := s.trim(all)
		own := s.send("alice")

		r := s.openTok(tok, last, "")
		resets, got, _ := readFrames(t, r, 300*time.Millisecond)
		wantList(t, "own log replayed", got, []string{own})
		checkReset(t, resets, src7, oldest7, newest7)
		checkReset(t, resets, all, oldestAll, newestAll)
	})
}

// TestSources_ZeroCursorCoversGroups: "0-0" is the position of a client that has
// nothing yet (the history was empty: notifications.js starts its stream with
// last_event_id=0-0, and pages from it on a reset). A group notification published
// after the client's empty history must then reach it, as own and broadcast ones do,
// and a history walk from 0-0 must list the groups' notifications too.
func TestSources_ZeroCursorCoversGroups(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, g7)
		if p, _ := s.history(tok, ""); len(p.Notifications) != 0 || p.Next != "" {
			t.Fatalf("history of a new user: %+v", p)
		}
		// Published between the (empty) history and the stream's start.
		want := []string{s.send("alice"), s.send(src7), s.send(all)}
		c := s.openTok(tok, "", "?last_event_id=0-0")
		got, _ := upTo(t, c, len(want), time.Second)
		wantList(t, "stream from 0-0", got, want)

		p, _ := s.history(tok, "?after=0-0")
		wantList(t, "history after 0-0", pageIDs(p), want)
	})
}

// orderHook is a broker that runs a function once right after the next After of a
// source has read it: it puts a publish between the replay's read of that log and
// whatever the stream reads next.
type orderHook struct {
	Broker
	mu    sync.Mutex
	after map[string]func()
}

func (h *orderHook) After(ctx context.Context, source, id string, limit int) ([]notification.Envelope, error) {
	out, err := h.Broker.After(ctx, source, id, limit)
	h.mu.Lock()
	f := h.after[source]
	delete(h.after, source)
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return out, err
}

func (h *orderHook) arm(source string, f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.after[source] = f
}

// TestSources_ResumeKeepsCreationOrderWhenPublishRacesReplay: on resume, an own
// notification X published just after the replay read the user's log, then a group
// notification Y, must arrive in creation order (X before Y), each once, after the own
// notification O the replay had to send. A replay that reads the logs one after another
// and never reads a caught-up log again sends Y (found in the group's log, read later)
// before X (which then comes only live).
func TestSources_ResumeKeepsCreationOrderWhenPublishRacesReplay(t *testing.T) {
	for _, kind := range []string{"redis", "memory"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			hook := &orderHook{after: map[string]func(){}}
			s := newSourcesEnv(t, kind, func(b Broker) Broker { hook.Broker = b; return hook })
			tok := groupToken(t, "alice", time.Hour, g7)
			c := s.openTok(tok, "", "")
			s.send(src7)
			_, last := notes(t, c, 1)
			c.close()
			o := s.send("alice") // missed: the replay reads the user's log
			published := make(chan []string, 1)
			hook.arm("alice", func() { // on the server's goroutine: no t.Fatal here
				ids := []string{o}
				for _, source := range []string{"alice", src7} {
					id, _, err := s.b.Publish(context.Background(), source, fmt.Sprint("race-", msgSeq.Add(1)), announcement("race", nil))
					if err != nil {
						t.Error(err)
					}
					ids = append(ids, id)
					time.Sleep(2 * time.Millisecond)
				}
				published <- ids
			})
			r := s.openTok(tok, last, "")
			var want []string
			select {
			case want = <-published:
			case <-time.After(5 * time.Second):
				t.Fatal("the replay never read the user's log")
			}
			got, _ := upTo(t, r, len(want)+1, 500*time.Millisecond)
			wantList(t, "resumed while publishing", got, want)
		})
	}
}
