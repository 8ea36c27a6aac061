package redisbroker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// replicated is a primary and a replica fed over a delaying link.
type replicated struct {
	link             *redistest.Link
	primary, replica *redis.Client
}

func startPair(t *testing.T) replicated {
	t.Helper()
	p := redistest.Start(t, redistest.Options{})
	link := redistest.StartLink(t, p.Addr, 40*time.Millisecond, 60*time.Millisecond)
	r := redistest.Start(t, redistest.Options{ReplicaOf: link.Addr})
	if err := redistest.WaitSynced(p.Addr, r.Addr, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out := replicated{link: link, primary: redis.NewClient(&redis.Options{Addr: p.Addr}), replica: redis.NewClient(&redis.Options{Addr: r.Addr})}
	t.Cleanup(func() { out.primary.Close(); out.replica.Close() })
	return out
}

// logBuffer is a concurrency-safe JSON log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the records whose message is msg.
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(l.buf.Bytes()), []byte("\n")) {
		var rec map[string]any
		if len(line) > 0 && json.Unmarshal(line, &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// replicatedBroker is a broker over rdb waiting for acks replicas at most timeout.
func replicatedBroker(t *testing.T, rdb redis.UniversalClient, acks int, timeout time.Duration, push bool, logs *logBuffer, unrep *atomic.Int64) (*redisbroker.Broker, rediskey.Names) {
	t.Helper()
	names := rediskey.Names{Prefix: fmt.Sprintf("t%d", prefix.Add(1))}
	opts := redisbroker.Options{EnqueuePush: push, ReplicaAcks: acks, ReplicaAckTimeout: timeout}
	if logs != nil {
		opts.Log = slog.New(slog.NewJSONHandler(logs, nil))
	}
	if unrep != nil {
		opts.OnUnreplicated = func() { unrep.Add(1) }
	}
	b, err := redisbroker.New(rdb, names, broker.DefaultLimits, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b, names
}

// TestPublishWaitsForReplica: once Publish returns, the replica holds the notification
// and its push queue entry; with REDIS_REPLICA_ACKS=0 it does not yet (the link delays
// replication 40–60 ms), which is what a failover then loses.
func TestPublishWaitsForReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pr := startPair(t)
	for _, tc := range []struct {
		acks int
		push bool
	}{{1, false}, {1, true}, {0, true}} {
		t.Run(fmt.Sprintf("acks=%d push=%v", tc.acks, tc.push), func(t *testing.T) {
			b, names := replicatedBroker(t, pr.primary, tc.acks, 2*time.Second, tc.push, nil, nil)
			missing := 0
			for i := range 5 {
				id, _, err := b.Publish(ctx, "u-1", fmt.Sprint("m", i), brokertest.Sample(i))
				if err != nil {
					t.Fatal(err)
				}
				got, _ := pr.replica.XRange(ctx, names.Log("u-1"), id, id).Result()
				queued, _ := pr.replica.XLen(ctx, names.PushQueue()).Result()
				if len(got) != 1 || (tc.push && queued != int64(i+1)) {
					missing++
				}
			}
			if tc.acks > 0 && missing != 0 {
				t.Errorf("%d of 5 acknowledged notifications (or push entries) not on the replica", missing)
			}
			if tc.acks == 0 && missing == 0 {
				t.Error("without waiting the replica still held every write at once: this test cannot fail")
			}
		})
	}
}

// TestPublishDuplicateWaitsAgain: a write stored but not acknowledged by a replica
// within the timeout is an error (5xx), and so is its retry (a duplicate) while the
// replica still lags; once the replica catches up, the retry succeeds.
func TestPublishDuplicateWaitsAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pr := startPair(t)
	b, names := replicatedBroker(t, pr.primary, 1, 100*time.Millisecond, true, nil, nil)
	pr.link.SetDelay(1500*time.Millisecond, 1500*time.Millisecond)
	n := brokertest.Sample(1)
	if _, _, err := b.Publish(ctx, "u-1", "m-1", n); !errors.Is(err, redisbroker.ErrNotReplicated) {
		t.Fatalf("first delivery: %v, want ErrNotReplicated", err)
	}
	if _, _, err := b.Publish(ctx, "u-1", "m-1", n); !errors.Is(err, redisbroker.ErrNotReplicated) {
		t.Fatalf("retry while the replica lags: %v, want ErrNotReplicated", err)
	}
	pr.link.SetDelay(0, 0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		id, dup, err := b.Publish(ctx, "u-1", "m-1", n)
		if err == nil {
			if !dup {
				t.Error("retry not recognised as a duplicate")
			}
			if got, _ := pr.replica.XRange(ctx, names.Log("u-1"), id, id).Result(); len(got) != 1 {
				t.Errorf("acknowledged %s, not on the replica", id)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retry still failing after the replica caught up: %v", err)
		}
	}
	if l, _ := pr.replica.XLen(ctx, names.PushQueue()).Result(); l != 1 {
		t.Errorf("replica's push queue holds %d entries, want 1", l)
	}
}

// TestPublishUnreplicated: with no replica connected Publish does not wait; each write
// is counted, and logged at WARNING as "writes not replicated" with the count since
// the last line, at most once a minute.
func TestPublishUnreplicated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	var logs logBuffer
	var unrep atomic.Int64
	b, _ := replicatedBroker(t, rdb, 1, 5*time.Second, false, &logs, &unrep)
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	redisbroker.SetClock(b, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	publish := func(k int) {
		start := time.Now()
		if _, _, err := b.Publish(ctx, "u-1", fmt.Sprint("m", k), brokertest.Sample(k)); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("publish with no replica took %s: it waited", took)
		}
	}
	for k := range 3 {
		publish(k)
	}
	lines := logs.lines(t, "writes not replicated")
	if unrep.Load() != 3 || len(lines) != 1 || lines[0]["count"] != 1.0 || lines[0]["level"] != "WARN" {
		t.Fatalf("after 3 writes: counted %d, lines %v; want 3 and one WARN line with count 1", unrep.Load(), lines)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	publish(3)
	lines = logs.lines(t, "writes not replicated")
	if unrep.Load() != 4 || len(lines) != 2 || lines[1]["count"] != 3.0 {
		t.Fatalf("a minute later: counted %d, lines %v; want 4 and a second line with count 3", unrep.Load(), lines)
	}
}

// TestPublishInfoRefused: a user that may not run INFO cannot tell whether replicas
// are connected: one ERROR line, writes acknowledged and counted as unreplicated.
func TestPublishInfoRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: server.Addr})
	t.Cleanup(func() { admin.Close() })
	user := fmt.Sprintf("noinfo%d", prefix.Add(1))
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-info").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr, Username: user, Password: "pw", DisableIdentity: true})
	t.Cleanup(func() { rdb.Close() })
	var logs logBuffer
	var unrep atomic.Int64
	b, _ := replicatedBroker(t, rdb, 1, 5*time.Second, false, &logs, &unrep)
	redisbroker.SetClock(b, func() time.Time { return time.Unix(0, 0).Add(time.Duration(unrep.Load()) * time.Hour) })
	for k := range 2 {
		if _, _, err := b.Publish(ctx, "u-1", fmt.Sprint("m", k), brokertest.Sample(k)); err != nil {
			t.Fatal(err)
		}
	}
	errs := 0
	logs.mu.Lock()
	for _, line := range bytes.Split(logs.buf.Bytes(), []byte("\n")) {
		if bytes.Contains(line, []byte(`"level":"ERROR"`)) && bytes.Contains(line, []byte("INFO replication")) {
			errs++
		}
	}
	logs.mu.Unlock()
	if errs != 1 || unrep.Load() != 2 {
		t.Errorf("%d ERROR lines, %d unreplicated; want 1 and 2", errs, unrep.Load())
	}
}

// TestPublishWaitRefused: a server that refuses WAIT (NOPERM: a managed Redis whose
// command list leaves it out) must not fail every write: one ERROR line, writes
// acknowledged and counted as unreplicated, WAIT not sent again.
func TestPublishWaitRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pr := startPair(t) // a replica is connected, so writes would wait
	user := fmt.Sprintf("nowait%d", prefix.Add(1))
	if err := pr.primary.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-wait").Err(); err != nil {
		t.Fatal(err)
	}
	opts := pr.primary.Options()
	rdb := redis.NewClient(&redis.Options{Addr: opts.Addr, Username: user, Password: "pw", DisableIdentity: true})
	t.Cleanup(func() { rdb.Close() })
	var logs logBuffer
	var unrep atomic.Int64
	b, _ := replicatedBroker(t, rdb, 1, 5*time.Second, true, &logs, &unrep)
	for k := range 3 {
		if _, _, err := b.Publish(ctx, "u-1", fmt.Sprint("m", k), brokertest.Sample(k)); err != nil {
			t.Fatalf("write %d with WAIT refused: %v", k, err)
		}
	}
	if errs := len(logs.lines(t, "Redis refuses WAIT: writes are not waited for and count as unreplicated")); errs != 1 || unrep.Load() != 3 {
		t.Errorf("%d ERROR lines, %d unreplicated; want 1 and 3", errs, unrep.Load())
	}
}
