package server

// Issue 15, "one cursor": the history over every log, and expiry (helpers in
// sources_env_test.go).

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

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
