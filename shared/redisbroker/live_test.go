package redisbroker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// running starts Run on b until the test ends and subscribes user; it returns Run's
// result channel and the recorder.
func running(t *testing.T, b *redisbroker.Broker, user string) (context.CancelFunc, chan error, *brokertest.Recorder) {
	t.Helper()
	rec := brokertest.NewRecorder()
	cancel, done := runningWith(t, b, user, rec)
	return cancel, done, rec
}

// runningWith is running with the caller's sink.
func runningWith(t *testing.T, b *redisbroker.Broker, user string, sink broker.Sink) (context.CancelFunc, chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	if err := b.Subscribe(sctx, user); err != nil {
		t.Fatal(err)
	}
	return cancel, done
}

// resyncSignal is a Recorder that also reports each Resync on a channel: Run calls
// Resync exactly when it has replaced a lost pub/sub connection, so this is how the
// tests see a reconnect.
type resyncSignal struct {
	*brokertest.Recorder
	resyncs chan struct{}
}

func (s resyncSignal) Resync() {
	s.Recorder.Resync()
	s.resyncs <- struct{}{}
}

// TestBackoffResetsAfterHealthySession: each loss of a connection that stayed up is
// retried at the minimum backoff. Without the reset the fifth loss in a row waits
// 800 ms and the sixth 1.6 s, however long the connections in between lived.
func TestBackoffResetsAfterHealthySession(t *testing.T) {
	t.Parallel()
	own := redistest.Start(t, redistest.Options{})
	rdb, _ := redisbroker.NewClient(config.Redis{Addr: own.Addr})
	defer rdb.Close()
	reconnects := make(chan struct{}, 1)
	const ping = 50 * time.Millisecond // healthy after 3 pings: 150 ms
	b, err := redisbroker.New(rdb, rediskey.Names{Prefix: "bo"}, broker.DefaultLimits,
		redisbroker.Options{PingInterval: ping})
	if err != nil {
		t.Fatal(err)
	}
	runningWith(t, b, "u", resyncSignal{brokertest.NewRecorder(), reconnects})
	ctx := context.Background()
	for i := range 6 {
		time.Sleep(6 * ping) // the session stays up well past healthy
		start := time.Now()
		if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-reconnects:
		case <-time.After(5 * time.Second):
			t.Fatalf("loss %d: no reconnect", i+1)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Fatalf("loss %d after a healthy session: reconnected after %s, want the minimum backoff", i+1, took)
		}
	}
}

// TestCancelledSubscribeLeavesNoWaiter: Subscribe calls that give up (ctx ended before
// Redis confirmed) do not stay behind in the broker.
func TestCancelledSubscribeLeavesNoWaiter(t *testing.T) {
	t.Parallel()
	b, _ := newBroker(t, broker.DefaultLimits) // Run is not running: nothing confirms
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		if err := b.Subscribe(ctx, "u"); err == nil {
			t.Fatal("Subscribe without Run succeeded")
		}
		cancel()
	}
	if calls, chans := redisbroker.Waiters(b); calls != 0 || chans != 0 {
		t.Fatalf("%d cancelled Subscribe calls (%d channels) still waiting", calls, chans)
	}
}

// TestRunReturnsPromptlyWhenCancelled: Run does not sit out its receive timeout (the
// ping interval) after its context ends, so its owner can close the client soon after.
func TestRunReturnsPromptlyWhenCancelled(t *testing.T) {
	t.Parallel()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	b, err := redisbroker.New(rdb, rediskey.Names{Prefix: "rp"}, broker.DefaultLimits, redisbroker.Options{PingInterval: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done, _ := running(t, b, "u")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
		done <- nil // for the cleanup
	case <-time.After(time.Second):
		t.Fatal("Run still running 1s after its context ended (ping interval 3s)")
	}
}

// TestLiveMessageWithoutValidIDIsDropped: a payload on a user's channel without a log
// id (or with one that is not a stream id) never reaches the sink: an id-less envelope
// must not exist downstream, where an empty id used to mean "resync".
func TestLiveMessageWithoutValidIDIsDropped(t *testing.T) {
	t.Parallel()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	names := rediskey.Names{Prefix: fmt.Sprintf("noid%d", prefix.Add(1))}
	b, err := redisbroker.New(rdb, names, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, rec := running(t, b, "u")
	ctx := context.Background()
	ch := names.Channel("u")
	for _, payload := range []string{
		`{"type":"video_complete","request_id":"r"}`,
		`{"id":"","type":"video_complete"}`,
		`{"id":"not-an-id","type":"video_complete"}`,
	} {
		if err := rdb.Publish(ctx, ch, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	id, _, err := b.Publish(ctx, "u", "m1", brokertest.Sample(1))
	if err != nil {
		t.Fatal(err)
	}
	got := rec.WaitFor(t, "u", 1) // ordered after the bad ones on the same connection
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("delivered %+v, want only %s", got, id)
	}
	if n := rec.Resyncs(); n != 0 {
		t.Fatalf("%d resyncs", n)
	}
}
