package brokertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// liveDeliveryReachesOnlySubscribed: a notification published after Subscribe returned
// reaches the sink under its stored id, for its own user only.
func liveDeliveryReachesOnlySubscribed(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("alice")
	f.subscribe("bob")
	id := f.publish("alice", "m1", 1)
	got := f.rec.WaitFor(t, "alice", 1)
	if got[0].ID != id || got[0].Type != notification.VideoComplete {
		t.Errorf("delivered %+v, want id %s", got[0], id)
	}
	f.publish("bob", "m2", 2)
	f.rec.WaitFor(t, "bob", 1)
	if n := len(f.rec.Got("alice")); n != 1 {
		t.Errorf("alice received %d, want 1", n)
	}
	stored, err := f.b.After(f.ctx, "alice", rediskey.Zero, 10)
	if err != nil || len(stored) != 1 || string(stored[0].Data) != string(got[0].Data) {
		t.Errorf("stored %v (%v) differs from live %s", stored, err, got[0].Data)
	}
}

// duplicateStoredAndDeliveredOnce: a second Publish of the same message id changes
// nothing and returns the first id.
func duplicateStoredAndDeliveredOnce(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("carol")
	id := f.publish("carol", "dup", 1)
	id2, dup, err := f.b.Publish(f.ctx, "carol", "dup", Sample(1))
	if err != nil || !dup || id2 != id {
		t.Fatalf("second Publish = %q, %v, %v; want %q, true", id2, dup, err, id)
	}
	f.publish("carol", "other", 2)
	if got := f.rec.WaitFor(t, "carol", 2); len(got) != 2 {
		t.Errorf("delivered %d, want 2", len(got))
	}
	if stored, _ := f.b.After(f.ctx, "carol", rediskey.Zero, 10); len(stored) != 2 {
		t.Errorf("stored %d, want 2", len(stored))
	}
}

// idsGrowAndReplayIsPaged: ids grow; After pages oldest first; Latest gives the newest.
func idsGrowAndReplayIsPaged(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	var ids []string
	for i := range 4 {
		ids = append(ids, f.publish("dave", fmt.Sprint("m", i), i))
	}
	for i := 1; i < len(ids); i++ {
		if mustParse(t, ids[i-1]).Compare(mustParse(t, ids[i])) >= 0 {
			t.Fatalf("ids do not grow: %v", ids)
		}
	}
	page, err := f.b.After(f.ctx, "dave", mustParse(t, ids[0]), 2)
	if err != nil || len(page) != 2 || page[0].ID != ids[1] || page[1].ID != ids[2] {
		t.Fatalf("After(first, 2) = %v, %v", page, err)
	}
	page, err = f.b.After(f.ctx, "dave", mustParse(t, page[1].ID), 2)
	if err != nil || len(page) != 1 || page[0].ID != ids[3] {
		t.Fatalf("After(third, 2) = %v, %v", page, err)
	}
	page, err = f.b.After(f.ctx, "dave", mustParse(t, ids[3]), 2)
	if err != nil || len(page) != 0 {
		t.Fatalf("After(last) = %v, %v", page, err)
	}
	latest, err := f.b.Latest(f.ctx, "dave", 3)
	if err != nil || len(latest) != 3 || latest[0].ID != ids[1] || latest[2].ID != ids[3] {
		t.Fatalf("Latest(3) = %v, %v", latest, err)
	}
}

// resumeRules: After resets an unknown or expired id, naming the log's newest and
// oldest ids; the newest trimmed id itself loses nothing. (A malformed id never
// reaches the broker: the stream parses the client's cursor.)
func resumeRules(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	zero := rediskey.Zero
	if got, err := f.b.After(f.ctx, "erin", zero, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty log from 0-0 = %v, %v", got, err)
	}
	wantReset(t, f.b, "erin", rediskey.StreamID{Ms: 5}, "unknown", zero, zero)
	ids := f.publishTrimmed("erin")
	newest, oldest := mustParse(t, ids[len(ids)-1]), mustParse(t, ids[2])
	wantReset(t, f.b, "erin", zero, "expired", newest, oldest)
	wantReset(t, f.b, "erin", mustParse(t, ids[0]), "expired", newest, oldest)
	wantReset(t, f.b, "erin", newest.Next(), "unknown", newest, oldest)
	wantReset(t, f.b, "erin", rediskey.Max, "unknown", newest, oldest)
	wantReset(t, f.b, "nobody", rediskey.Max, "unknown", zero, zero)
	got, err := f.b.After(f.ctx, "erin", mustParse(t, ids[1]), 10)
	if err != nil || len(got) != MaxLen || got[0].ID != ids[2] {
		t.Fatalf("After(last trimmed) = %d items, %v", len(got), err)
	}
}

// cursorLostInFailover: a client's cursor can name an entry the log no longer reaches
// when a Redis failover lost the newest, unreplicated writes. After resets it once
// ("unknown", the log's newest), resuming from the reset's id is clean (no reset loop),
// and once new writes pass the old cursor, resuming from it returns them (no silent
// skip). docs/RELIABILITY.md.
func cursorLostInFailover(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishN("fay", 2)
	newest := mustParse(t, ids[1])
	lost := rediskey.StreamID{Ms: newest.Ms + 1} // delivered live, then lost
	wantReset(t, f.b, "fay", lost, "unknown", newest, mustParse(t, ids[0]))
	if got, err := f.b.After(f.ctx, "fay", newest, 10); err != nil || len(got) != 0 {
		t.Fatalf("After(reset id) = %v, %v; want nothing and no reset", got, err)
	}
	time.Sleep(3 * time.Millisecond) // the next id is past the lost one, as after a failover
	next := f.publish("fay", "after-failover", 3)
	for _, from := range []rediskey.StreamID{lost, newest} {
		if got, err := f.b.After(f.ctx, "fay", from, 10); err != nil || len(got) != 1 || got[0].ID != next {
			t.Errorf("After(%s) = %v, %v; want only %s", from, got, err, next)
		}
	}
}

// rangePagesWhatIsHeld: Range pages whatever the log holds, without the resume check.
func rangePagesWhatIsHeld(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	ids := f.publishTrimmed("erin")
	newest, oldest := ids[len(ids)-1], ids[2]
	if got, err := f.b.Range(f.ctx, "erin", rediskey.Zero, 2); err != nil || len(got) != 2 || got[0].ID != oldest {
		t.Fatalf("Range(0-0, 2) = %v, %v; want the two oldest held", got, err)
	}
	if got, err := f.b.Range(f.ctx, "erin", mustParse(t, ids[4]), 10); err != nil || len(got) != 2 || got[1].ID != newest {
		t.Fatalf("Range(ids[4]) = %v, %v", got, err)
	}
	if got, err := f.b.Range(f.ctx, "nobody", rediskey.Zero, 10); err != nil || len(got) != 0 {
		t.Fatalf("Range on an empty log = %v, %v", got, err)
	}
	// No cursor: the largest id (nothing can follow it; Redis refuses the range) is the
	// caller's mistake, never a store failure.
	for _, user := range []string{"erin", "nobody"} {
		if got, err := f.b.Range(f.ctx, user, rediskey.Max, 10); !errors.Is(err, rediskey.ErrBadStreamID) || len(got) != 0 {
			t.Errorf("Range(%s, Max) = %v, %v; want rediskey.ErrBadStreamID", user, got, err)
		}
	}
}

// unsubscribeStopsLiveDelivery: after Unsubscribe returns, nothing more is delivered
// for that user (the later publish for another user, on the same connection, proves
// frank's would have arrived by then).
func unsubscribeStopsLiveDelivery(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("frank")
	f.subscribe("gina")
	if err := f.b.Unsubscribe(f.ctx, "frank"); err != nil {
		t.Fatal(err)
	}
	if err := f.b.Unsubscribe(f.ctx, "nobody"); err != nil {
		t.Fatalf("Unsubscribe of an unknown user: %v", err)
	}
	f.publish("frank", "m1", 1)
	f.publish("gina", "m2", 2)
	f.rec.WaitFor(t, "gina", 1)
	if got := f.rec.Got("frank"); len(got) != 0 {
		t.Errorf("frank received %d after unsubscribing", len(got))
	}
}

// cancelledSubscribe: a Subscribe whose context has ended returns its error promptly,
// and once balanced by Unsubscribe, a later Subscribe of the same user works.
func cancelledSubscribe(t *testing.T, newBroker Factory) {
	b := newBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Subscribe(ctx, "hank"); err == nil {
		t.Fatal("Subscribe with an ended context (and no Run) succeeded")
	}
	if err := b.Unsubscribe(context.Background(), "hank"); err != nil {
		t.Fatal(err)
	}
	f := startWith(t, b)
	f.subscribe("hank")
	id := f.publish("hank", "m1", 1)
	if got := f.rec.WaitFor(t, "hank", 1); got[0].ID != id {
		t.Fatalf("delivered %v, want %s", got[0].ID, id)
	}
}

// runEndsWithContext: Run returns nil soon after its context ends.
func runEndsWithContext(t *testing.T, newBroker Factory) {
	b := newBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, NewRecorder()) }()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := b.Subscribe(sctx, "ivy"); err != nil { // Run is running
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run still running 1s after its context ended")
	}
}

// readyWhenRunning: a running broker becomes ready.
func readyWhenRunning(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	deadline := time.Now().Add(5 * time.Second)
	for err := f.b.Ready(f.ctx); err != nil; err = f.b.Ready(f.ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("Ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publishTrimmed publishes MaxLen+2 notifications for user, so the first two are
// trimmed, and returns their ids.
func (f *fixture) publishTrimmed(user string) []string {
	f.t.Helper()
	var ids []string
	for i := range MaxLen + 2 {
		ids = append(ids, f.publish(user, fmt.Sprint("m", i), i))
	}
	return ids
}

func wantReset(t *testing.T, b broker.Broker, source string, after rediskey.StreamID, reason string, newest, oldest rediskey.StreamID) {
	t.Helper()
	_, err := b.After(context.Background(), source, after, 10)
	var r *broker.ResetError
	if !errors.As(err, &r) || !errors.Is(err, broker.ErrReset) {
		t.Fatalf("After(%s) = %v, want a reset", after, err)
	}
	if r.Reason != reason || r.Newest != newest || r.Oldest != oldest {
		t.Errorf("After(%s) reset = %+v, want %s newest %s oldest %s", after, r, reason, newest, oldest)
	}
}

func mustParse(t *testing.T, id string) rediskey.StreamID {
	t.Helper()
	s, err := rediskey.ParseStreamID(id)
	if err != nil {
		t.Fatalf("bad id %q: %v", id, err)
	}
	return s
}
