package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Reconnect backoff bounds: the first retry after a loss comes quickly, repeated
// failures back off to maxBackoff so a Redis that refuses us is not hammered.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

var errStale = errors.New("pub/sub connection stale: no reply to pings")

// Run receives live notifications for every subscribed user and hands them to sink
// until ctx ends, then returns nil. When the pub/sub connection fails or goes stale it
// is replaced, all channels are subscribed again, and — once Redis has confirmed that —
// sink.Resync is called so consumers replay what was published during the gap. Only
// one Run at a time. See broker.Feed.
func (b *Broker) Run(ctx context.Context, sink broker.Sink) error {
	backoff := minBackoff
	for first := true; ; first = false {
		session := b.session
		if b.cluster != nil {
			session = b.shardSession
		}
		syncedAt, err := session(ctx, sink, !first)
		if ctx.Err() != nil {
			return nil
		}
		// After a session that stayed up, this loss is a new incident: retry at once
		// rather than after the backoff earlier failures had grown to.
		if !syncedAt.IsZero() && time.Since(syncedAt) >= b.healthyAfter {
			backoff = minBackoff
		}
		b.opts.Log.Warn("redis pub/sub connection lost; reconnecting", "error", err.Error(), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// session runs one pub/sub connection until it fails or ctx ends. syncedAt is when it
// became live (every channel confirmed), zero if it never did.
func (b *Broker) session(ctx context.Context, sink broker.Sink, resync bool) (syncedAt time.Time, err error) {
	ps := b.rdb.Subscribe(ctx)
	b.mu.Lock()
	b.ps = ps
	chans := slices.Collect(maps.Keys(b.channels))
	b.mu.Unlock()
	// A blocked receive only sees its read deadline, not ctx: closing the connection
	// when ctx ends makes Run return at once rather than after a ping interval.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		stop()
		b.mu.Lock()
		b.ps = nil
		b.mu.Unlock()
		_ = ps.Close()
	}()

	if len(chans) > 0 {
		if err := ps.Subscribe(ctx, chans...); err != nil {
			return syncedAt, fmt.Errorf("resubscribe: %w", err)
		}
	}
	// Redis answers in order: the reply to this ping means every SUBSCRIBE above is live,
	// which is when replaying the log closes the gap.
	const barrier = "resync"
	if err := ps.Ping(ctx, barrier); err != nil {
		return syncedAt, fmt.Errorf("ping: %w", err)
	}
	b.lastHeard.Store(time.Now().UnixNano())
	var held []*redis.Message
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.opts.PingInterval)
		if err != nil {
			if ctx.Err() != nil {
				return syncedAt, ctx.Err()
			}
			var ne interface{ Timeout() bool }
			if !errors.As(err, &ne) || !ne.Timeout() {
				return syncedAt, err
			}
			if time.Since(time.Unix(0, b.lastHeard.Load())) > 3*b.opts.PingInterval {
				return syncedAt, errStale
			}
			if err := ps.Ping(ctx); err != nil {
				return syncedAt, err
			}
			continue
		}
		b.lastHeard.Store(time.Now().UnixNano())
		switch m := msg.(type) {
		case *redis.Pong:
			if m.Payload == barrier && syncedAt.IsZero() {
				syncedAt = time.Now()
				if resync {
					// Resync before any message of this connection: consumers replay
					// from where the gap began, then take the held messages (skipping
					// what the replay already sent).
					sink.Resync()
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
			if syncedAt.IsZero() {
				held = append(held, m) // arrived before the barrier: after the resync
				continue
			}
			b.deliver(sink, m)
		}
	}
}

// deliver hands one pub/sub message to sink: a control message (broker.IsControl) as
// such, anything else as a notification. A notification without a valid log id is
// dropped: the id is what a consumer resumes from, so it must never be empty.
func (b *Broker) deliver(sink broker.Sink, m *redis.Message) {
	user, ok := b.names.UserOfChannel(m.Channel)
	if !ok {
		return
	}
	if broker.IsControl([]byte(m.Payload)) {
		c, err := broker.ParseControl([]byte(m.Payload))
		if err != nil {
			b.opts.Log.Error("dropping malformed control message", "channel", m.Channel, "error", err.Error())
			return
		}
		sink.Control(user, c)
		return
	}
	env, err := notification.ParseEnvelope([]byte(m.Payload))
	if err == nil {
		var source string
		var own bool
		source, _, own, err = broker.SplitItemID(env.ID)
		if err == nil && (own != broker.IsUserSource(user) || !own && source != user) {
			err = fmt.Errorf("id %q is not an id of %s", env.ID, user)
		}
	}
	if err != nil {
		b.opts.Log.Error("dropping malformed live notification", "channel", m.Channel, "error", err.Error())
		return
	}
	sink.Deliver(user, env)
}
