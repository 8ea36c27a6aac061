package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// replicaCheckEvery is how long the number of connected replicas is trusted. WAIT with
// fewer connected replicas than it asks for blocks for its whole timeout, so the count
// is read (INFO replication) before waiting, but not on every write: a replica that
// drops within this window costs writes one timeout each (5xx, retried), a replica
// that joins leaves writes counted as unreplicated for at most this long.
const replicaCheckEvery = 5 * time.Second

// unreplicatedLogEvery rate-limits the "writes not replicated" line: the first is
// written at once (the alert fires on it), then at most one per interval with the
// count since the previous line.
const unreplicatedLogEvery = time.Minute

// ErrNotReplicated is returned by Publish when no replica acknowledged the write within
// the timeout: the write is stored on the primary but would be lost with it, so the
// caller must not acknowledge it (a retry is deduplicated and waits again).
var ErrNotReplicated = errors.New("write not acknowledged by a replica in time")

// replication decides how many replicas a write waits for, and counts the writes that
// could not wait (docs/RELIABILITY.md "Durability through a Redis failover").
type replication struct {
	acks    int // 0: never wait
	timeout time.Duration
	log     *slog.Logger
	onUnrep func()
	now     func() time.Time

	mu       sync.Mutex
	nodes    map[string]nodeReplicas // by the primary's address (several on a cluster)
	denied   bool                    // INFO refused (NOPERM): logged once, treated as no replica
	refused  bool                    // WAIT refused (NOPERM, unknown): logged once, never waited for again
	pending  int                     // unreplicated writes not yet in a log line
	lastLine time.Time               // of the last "writes not replicated" line
}

// nodeReplicas is what a primary's INFO replication said.
type nodeReplicas struct {
	checked   time.Time // when connected was read
	connected int
}

// need returns how many replicas the next write must wait for: min(acks, connected),
// 0 when waiting is off or no replica is connected (then the caller counts the write
// with unreplicated once it succeeded). node is the primary the write goes to.
func (r *replication) need(ctx context.Context, node *redis.Client) int {
	if r.acks == 0 {
		return 0
	}
	addr := node.Options().Addr
	r.mu.Lock()
	st, ok := r.nodes[addr]
	fresh := ok && r.now().Sub(st.checked) < replicaCheckEvery
	refused := r.refused
	r.mu.Unlock()
	if refused {
		return 0
	}
	n := st.connected
	if !fresh {
		n = r.refresh(ctx, addr, node)
	}
	return min(r.acks, n)
}

// refresh reads the number of online replicas. An error other than a refusal keeps waiting for acks
// replicas: the safe side is a 5xx after the timeout, never an unreplicated 2xx.
func (r *replication) refresh(ctx context.Context, addr string, rdb redis.Cmdable) int {
	info, err := rdb.Info(ctx, "replication").Result()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil && strings.HasPrefix(err.Error(), "NOPERM"):
		if !r.denied {
			r.log.ErrorContext(ctx, "cannot read INFO replication: writes are not waited for and count as unreplicated",
				"error", err.Error())
		}
		r.denied = true
		r.nodes[addr] = nodeReplicas{checked: r.now()}
		return 0
	case err != nil:
		return r.acks
	}
	n := connectedReplicas(info)
	r.nodes[addr] = nodeReplicas{checked: r.now(), connected: n}
	return n
}

// forget makes the next write to node read the replica count again: a WAIT that timed
// out suggests the replica is gone.
func (r *replication) forget(node *redis.Client) {
	r.mu.Lock()
	delete(r.nodes, node.Options().Addr)
	r.mu.Unlock()
}

// done counts a successful write that waited for replicas replicas as unreplicated
// when it could not wait although waiting is on.
func (r *replication) done(ctx context.Context, replicas int) {
	if r.acks > 0 && replicas == 0 {
		r.unreplicated(ctx)
	}
}

// unreplicated counts one write acknowledged without a replica holding it.
func (r *replication) unreplicated(ctx context.Context) {
	if r.onUnrep != nil {
		r.onUnrep()
	}
	r.mu.Lock()
	r.pending++
	now := r.now()
	if !r.lastLine.IsZero() && now.Sub(r.lastLine) < unreplicatedLogEvery {
		r.mu.Unlock()
		return
	}
	n := r.pending
	r.pending, r.lastLine = 0, now
	r.mu.Unlock()
	// Message and attribute are a contract: the Terraform alert matches this message
	// at severity WARNING.
	r.log.WarnContext(ctx, "writes not replicated", "count", n)
}

// wait queues WAIT for n replicas on p. (Pipeliner has no Wait method; the pipeline's
// read timeout covers the wait, see NewClient.)
func (r *replication) wait(ctx context.Context, p redis.Pipeliner, n int) *redis.Cmd {
	return p.Do(ctx, "wait", n, r.timeout.Milliseconds())
}

// check turns WAIT's reply into an error when fewer replicas than asked for
// acknowledged.
//
// A server that refuses WAIT itself (NOPERM, or an unknown command: a managed Redis
// whose command list leaves it out) would otherwise fail every write forever: the
// write is stored, so it is acknowledged and counted as unreplicated, the refusal is
// logged at ERROR once, and no write waits again in this process.
func (r *replication) check(ctx context.Context, node *redis.Client, w *redis.Cmd, want int) error {
	got, err := w.Int64()
	if err != nil && (redis.HasErrorPrefix(err, "NOPERM") || redis.HasErrorPrefix(err, "ERR unknown command")) {
		r.mu.Lock()
		first := !r.refused
		r.refused = true
		r.mu.Unlock()
		if first {
			r.log.ErrorContext(ctx, "Redis refuses WAIT: writes are not waited for and count as unreplicated",
				"error", err.Error())
		}
		r.unreplicated(ctx)
		return nil
	}
	if err != nil {
		return fmt.Errorf("wait for replicas: %w", err)
	}
	if got < int64(want) {
		r.forget(node)
		return fmt.Errorf("%w: %d of %d within %s", ErrNotReplicated, got, want, r.timeout)
	}
	return nil
}

// connectedReplicas counts the replicas INFO replication lists as online
// ("slave0:ip=…,state=online,…"). connected_slaves also counts a replica still loading
// its first copy, which cannot acknowledge anything yet.
func connectedReplicas(info string) int {
	n := 0
	for line := range strings.SplitSeq(info, "\n") {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.HasPrefix(name, "slave") &&
			strings.Contains(","+fields+",", ",state=online,") {
			n++
		}
	}
	return n
}
