package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// subscriber is a session's pub/sub: a *redis.PubSub on one Redis, a *shardSet on a
// cluster.
type subscriber interface {
	Subscribe(ctx context.Context, channels ...string) error
	Unsubscribe(ctx context.Context, channels ...string) error
}

// Subscribe starts live delivery for source and returns once Redis has confirmed it
// (so a log read after it cannot miss a notification). It waits for Run's connection.
// When ctx ends first, its waiter is removed; the channel stays in the subscribed set
// until the caller's Unsubscribe (broker.Feed: every Subscribe is balanced).
func (b *Broker) Subscribe(ctx context.Context, source string) error {
	ch := b.names.Channel(source)
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
		b.dropWaiter(ch, done)
		return fmt.Errorf("subscribe %s: %w", ch, ctx.Err())
	}
}

// dropWaiter removes a Subscribe call that stopped waiting, so waiters hold only live
// calls (a channel that is never confirmed would otherwise keep them forever).
func (b *Broker) dropWaiter(ch string, done chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ws := slices.DeleteFunc(b.waiters[ch], func(w chan struct{}) bool { return w == done })
	if len(ws) == 0 {
		delete(b.waiters, ch)
	} else {
		b.waiters[ch] = ws
	}
}

// confirm releases the Subscribe calls waiting for channel.
func (b *Broker) confirm(channel string) {
	b.mu.Lock()
	ws := b.waiters[channel]
	delete(b.waiters, channel)
	b.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// Unsubscribe stops live delivery for source. The channel leaves the subscribed set
// first, so even when the UNSUBSCRIBE fails (its error is returned) the next session
// does not subscribe it again.
func (b *Broker) Unsubscribe(ctx context.Context, source string) error {
	ch := b.names.Channel(source)
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
