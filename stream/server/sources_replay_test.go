package server

// Issue 15, "one cursor": replay on reconnect and resume (helpers in sources_env_test.go).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
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

// orderHook is a broker that runs a function once right after the next After of a
// source has read it: it puts a publish between the replay's read of that log and
// whatever the stream reads next.
type orderHook struct {
	Broker
	mu    sync.Mutex
	after map[string]func()
}

func (h *orderHook) After(ctx context.Context, source string, pos rediskey.StreamID, limit int) ([]notification.Envelope, error) {
	out, err := h.Broker.After(ctx, source, pos, limit)
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
