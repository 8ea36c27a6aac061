package redisbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

var _ broker.Broker = (*Broker)(nil)

// Options tune the live connection.
type Options struct {
	// PingInterval is how often the pub/sub connection is pinged when idle; it is stale
	// (and replaced) after three intervals without a word from Redis.
	PingInterval time.Duration
	// Log receives connection warnings.
	Log *slog.Logger
	// EnqueuePush makes Publish add each newly stored notification to the Web Push
	// queue (rediskey.PushQueue), which the stream instances' push worker consumes.
	// Leave it off when no stream instance runs the worker: nothing would drain it.
	EnqueuePush bool
	// ReplicaAcks is how many replicas Publish waits for (WAIT, at most
	// ReplicaAckTimeout) when replicas are connected; 0 never waits.
	ReplicaAcks       int
	ReplicaAckTimeout time.Duration
	// OnUnreplicated, if set, counts each write acknowledged with ReplicaAcks > 0 but
	// no replica connected.
	OnUnreplicated func()
}

// Broker is the Redis broker. Safe for concurrent use.
type Broker struct {
	rdb redis.UniversalClient
	// cluster is rdb in cluster mode, nil on one Redis: sharded pub/sub, WAIT on the
	// slot owner, Heads without a cross-slot MULTI (cluster.go).
	cluster *redis.ClusterClient
	names   rediskey.Names
	limits  broker.Limits
	opts    Options
	repl    *replication
	// healthyAfter is how long a pub/sub session must stay up for its loss to count as
	// a new incident (the reconnect backoff starts again from its minimum).
	healthyAfter time.Duration

	mu       sync.Mutex
	ps       subscriber                 // nil while (re)connecting
	channels map[string]struct{}        // what this process is subscribed to
	waiters  map[string][]chan struct{} // Subscribe calls waiting for confirmation

	lastHeard atomic.Int64 // unix nanos of the last reply on the pub/sub connection
	// headsUnsettled counts Heads on a cluster whose collects never agreed (heads.go).
	headsUnsettled atomic.Int64
}

// New returns a broker over rdb, a *redis.Client (one Redis) or a *redis.ClusterClient
// (a cluster: names become Sharded). Close closes rdb.
func New(rdb redis.UniversalClient, names rediskey.Names, limits broker.Limits, opts Options) (*Broker, error) {
	if rdb == nil {
		return nil, errors.New("redisbroker.New: nil client")
	}
	cluster, _ := rdb.(*redis.ClusterClient)
	if _, one := rdb.(*redis.Client); !one && cluster == nil {
		return nil, fmt.Errorf("redisbroker.New: %T: want a *redis.Client or a *redis.ClusterClient", rdb)
	}
	names.Sharded = cluster != nil
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.ReplicaAcks < 0 || (opts.ReplicaAcks > 0 && opts.ReplicaAckTimeout < time.Millisecond) {
		return nil, errors.New("redisbroker.New: ReplicaAcks must be 0, or positive with a timeout of 1ms or more")
	}
	// A session that outlived the staleness window had its pings answered: it was a
	// working connection, not a flap.
	repl := &replication{acks: opts.ReplicaAcks, timeout: opts.ReplicaAckTimeout, log: opts.Log,
		onUnrep: opts.OnUnreplicated, now: time.Now, nodes: map[string]nodeReplicas{}}
	return &Broker{rdb: rdb, cluster: cluster, names: names, limits: limits, opts: opts, repl: repl, healthyAfter: 3 * opts.PingInterval,
		channels: map[string]struct{}{}, waiters: map[string][]chan struct{}{}}, nil
}

// Open connects a broker as configured (address, auth, TLS, key prefix, replica
// acknowledgements: cfg's override opts'). Close it to release the client.
func Open(cfg config.Redis, limits broker.Limits, opts Options) (*Broker, error) {
	opts.ReplicaAcks, opts.ReplicaAckTimeout = int(cfg.ReplicaAcks), time.Duration(cfg.ReplicaAckTimeout)
	rdb, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	b, err := New(rdb, rediskey.Names{Prefix: string(cfg.KeyPrefix)}, limits, opts)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return b, nil
}

// Close releases the broker's Redis client. Call it after Run has returned and every
// other call has finished: nothing here waits for them.
func (b *Broker) Close() error { return b.rdb.Close() }

// Client is the broker's Redis client, for other stores that share its connections.
func (b *Broker) Client() redis.UniversalClient { return b.rdb }

// Names are the broker's Redis names (Sharded on a cluster), for those stores.
func (b *Broker) Names() rediskey.Names { return b.names }
