package rooms

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestHubDropsMembersOfADeadInstance: a member whose instance stopped renewing its
// lease (died: no leave frame ever comes) leaves this instance's sockets' lists on the
// first refresh after the lease expires — within LeaseTTL + RefreshEvery ≤ 30 s.
func TestHubDropsMembersOfADeadInstance(t *testing.T) {
	t.Parallel()
	if LeaseTTL+RefreshEvery > 30*time.Second {
		t.Fatalf("LeaseTTL + RefreshEvery = %s, over the contract's 30 s", LeaseTTL+RefreshEvery)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { rdb.Close() })
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	store := NewRedis(rdb, fmt.Sprint("rp", prefixes.Add(1)), func() time.Time { return time.Unix(0, clock.Load()) })
	h, err := NewHub(store, NewMemory(time.Now), "live", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := h.enter(ctx, "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The dead instance's member joined (frame delivered) and never left.
	_ = store.Join(ctx, "r", "dead/1", Member{User: "s-dead"})
	h.Deliver("r", presenceFrame("join", Member{User: "s-dead"}))
	s.next(t)
	h.mu.Lock()
	h.leases["live/1"] = lease{room: "r", member: Member{User: "t-1", Teacher: true}}
	h.mu.Unlock()

	clock.Add(int64(LeaseTTL / 2))
	h.refresh(ctx) // lease still live: no leave; the local member is announced
	if f := s.next(t); f != `{"op":"join","teacher":true,"user":"t-1"}` {
		t.Fatalf("first refresh sent %s", f)
	}
	clock.Add(int64(LeaseTTL/2 + time.Second))
	h.refresh(ctx)
	if f, ok := s.pop(); !ok {
		t.Fatal("no leave for the dead instance's member")
	} else if f != `{"op":"leave","teacher":false,"user":"s-dead"}` {
		t.Fatalf("got %s", f)
	}
	if ms, _ := store.Members(ctx, "r"); fmt.Sprint(ms) != "[{t-1 true}]" {
		t.Fatalf("the live lease was not renewed: %v", ms)
	}
}

// TestReconcileKeepsNewerFrames: a member list read before a join or leave frame was
// delivered does not undo it (a welcome racing another member's join announced a
// spurious leave, and under a join storm overflowed sockets' queues: 43 of 500 load
// test sockets were dropped as too slow); a list read after it still does.
func TestReconcileKeepsNewerFrames(t *testing.T) {
	t.Parallel()
	h, err := NewHub(NewMemory(time.Now), NewMemory(time.Now), "i", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.enter(context.Background(), "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Now()
	h.Deliver("r", presenceFrame("join", Member{User: "new"}))
	h.Deliver("r", presenceFrame("join", Member{User: "old"}))
	h.Deliver("r", presenceFrame("leave", Member{User: "old"}))
	for range 3 {
		s.next(t)
	}
	h.reconcile("r", []Member{{User: "old"}}, asOf) // read before all three frames
	if f, ok := s.pop(); ok {
		t.Fatalf("a stale list changed the members: %s", f)
	}
	h.reconcile("r", []Member{{User: "old"}}, time.Now()) // read after them: it stands
	got := map[string]bool{s.next(t): true, s.next(t): true}
	if !got[`{"op":"leave","teacher":false,"user":"new"}`] || !got[`{"op":"join","teacher":false,"user":"old"}`] {
		t.Fatalf("a fresh list: %v", got)
	}
}
