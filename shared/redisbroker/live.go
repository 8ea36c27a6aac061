package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Options tune the live connection.
type Options struct {
	// PingInterval is how often the pub/sub connection is pinged when idle; it is stale
	// (and replaced) after three intervals without a word from Redis.
	PingInterval time.Duration
	// Log receives connection warnings.
	Log *slog.Logger
	// OnReconnect, if set, is called each time a lost pub/sub connection is replaced.
	OnReconnect func()
}

// Broker is the Redis broker. Safe for concurrent use.
type Broker struct {
	rdb    *redis.Client
	names  rediskey.Names
	limits broker.Limits
	opts   Options

	mu       sync.Mutex
	ps       *redis.PubSub              // nil while (re)connecting
	channels map[string]struct{}        // what this process is subscribed to
	waiters  map[string][]chan struct{} // Subscribe calls waiting for confirmation

	lastHeard atomic.Int64 // unix nanos of the last reply on the pub/sub connection
}

// New returns a broker over rdb; names come from prefix.
func New(rdb *redis.Client, names rediskey.Names, limits broker.Limits, opts Options) (*Broker, error) {
	if rdb == nil {
		return nil, errors.New("redisbroker.New: nil client")
	}
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Broker{rdb: rdb, names: names, limits: limits, opts: opts,
		channels: map[string]struct{}{}, waiters: map[string][]chan struct{}{}}, nil
}

var errStale = errors.New("pub/sub connection stale: no reply to pings")

// Run receives live notifications for every subscribed user and hands them to sink
// until ctx ends. When the pub/sub connection fails or goes stale it is replaced, all
// channels are subscribed again, and — once Redis has confirmed that — sink.Resync is
// called so consumers replay what was published during the gap. Only one Run at a time.
func (b *Broker) Run(ctx context.Context, sink broker.Sink) error {
	backoff := 50 * time.Millisecond
	for first := true; ; first = false {
		err := b.session(ctx, sink, !first)
		if ctx.Err() != nil {
			return nil
		}
		b.opts.Log.Warn("redis pub/sub connection lost; reconnecting", "error", err.Error(), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// session runs one pub/sub connection until it fails.
func (b *Broker) session(ctx context.Context, sink broker.Sink, resync bool) error {
	ps := b.rdb.Subscribe(ctx)
	b.mu.Lock()
	b.ps = ps
	chans := slices.Collect(maps.Keys(b.channels))
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.ps = nil
		b.mu.Unlock()
		_ = ps.Close()
	}()

	if len(chans) > 0 {
		if err := ps.Subscribe(ctx, chans...); err != nil {
			return fmt.Errorf("resubscribe: %w", err)
		}
	}
	// Redis answers in order: the reply to this ping means every SUBSCRIBE above is live,
	// which is when replaying the log closes the gap.
	const barrier = "resync"
	if err := ps.Ping(ctx, barrier); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	b.lastHeard.Store(time.Now().UnixNano())
	synced := false
	var held []*redis.Message
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.opts.PingInterval)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne interface{ Timeout() bool }
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			if time.Since(time.Unix(0, b.lastHeard.Load())) > 3*b.opts.PingInterval {
				return errStale
			}
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			continue
		}
		b.lastHeard.Store(time.Now().UnixNano())
		switch m := msg.(type) {
		case *redis.Pong:
			if m.Payload == barrier && !synced {
				synced = true
				if resync {
					// Resync before any message of this connection: consumers replay
					// from where the gap began, then take the held messages (skipping
					// what the replay already sent).
					sink.Resync()
					if b.opts.OnReconnect != nil {
						b.opts.OnReconnect()
					}
				}
				for _, h := range held {
					b.deliver(sink, h)
				}
				held = nil
			}
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirm(m.Channel)
			}
		case *redis.Message:
			if !synced {
				held = append(held, m) // arrived before the barrier: after the resync
				continue
			}
			b.deliver(sink, m)
		}
	}
}

// deliver hands one pub/sub message to sink.
func (b *Broker) deliver(sink broker.Sink, m *redis.Message) {
	user, ok := b.names.UserOfChannel(m.Channel)
	if !ok {
		return
	}
	env, err := notification.ParseEnvelope([]byte(m.Payload))
	if err != nil {
		b.opts.Log.Error("dropping malformed live notification", "channel", m.Channel, "error", err.Error())
		return
	}
	sink.Deliver(user, env)
}

func (b *Broker) confirm(channel string) {
	b.mu.Lock()
	ws := b.waiters[channel]
	delete(b.waiters, channel)
	b.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// Subscribe starts live delivery for userID and returns once Redis has confirmed it
// (so a log read after it cannot miss a notification). Run must be running.
func (b *Broker) Subscribe(ctx context.Context, userID string) error {
	ch := b.names.Channel(userID)
	done := make(chan struct{})
	b.mu.Lock()
	b.channels[ch] = struct{}{}
	b.waiters[ch] = append(b.waiters[ch], done)
	ps := b.ps
	b.mu.Unlock()
	// Without a connection, the next session subscribes every channel and confirms.
	if ps != nil {
		if err := ps.Subscribe(ctx, ch); err != nil {
			b.opts.Log.Warn("redis subscribe failed; waiting for reconnect", "error", err.Error())
		}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subscribe %s: %w", ch, ctx.Err())
	}
}

// Unsubscribe stops live delivery for userID.
func (b *Broker) Unsubscribe(ctx context.Context, userID string) error {
	ch := b.names.Channel(userID)
	b.mu.Lock()
	delete(b.channels, ch)
	ps := b.ps
	b.mu.Unlock()
	if ps == nil {
		return nil // the next session will not subscribe it
	}
	if err := ps.Unsubscribe(ctx, ch); err != nil {
		return fmt.Errorf("unsubscribe %s: %w", ch, err)
	}
	return nil
}

// Ready reports whether Redis answers commands and the pub/sub connection is alive.
func (b *Broker) Ready(ctx context.Context) error {
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	b.mu.Lock()
	connected := b.ps != nil
	b.mu.Unlock()
	if !connected {
		return errors.New("redis pub/sub connection is down")
	}
	if age := time.Since(time.Unix(0, b.lastHeard.Load())); age > 3*b.opts.PingInterval {
		return fmt.Errorf("redis pub/sub connection silent for %s", age.Round(time.Millisecond))
	}
	return nil
}

// Open connects a broker as configured (address, auth, TLS, key prefix). Close it to
// release the client.
func Open(cfg config.Redis, limits broker.Limits, opts Options) (*Broker, error) {
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

// Close releases the broker's Redis client.
func (b *Broker) Close() error { return b.rdb.Close() }

// Client is the broker's Redis client, for other stores that share its connections.
func (b *Broker) Client() *redis.Client { return b.rdb }
