package redisbroker

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
)

// Preferences returns userID's stored preferences, or the defaults.
func (b *Broker) Preferences(ctx context.Context, userID string) (broker.Prefs, error) {
	data, err := b.rdb.Get(ctx, b.names.Prefs(userID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return broker.DefaultPrefs(), nil
	}
	if err != nil {
		return broker.DefaultPrefs(), fmt.Errorf("get %s: %w", b.names.Prefs(userID), err)
	}
	p, err := broker.ParsePrefs(data)
	if err != nil {
		// Not a store failure: answering it as one would refuse the user's streams for
		// good. The defaults stand until the user stores new preferences.
		b.opts.Log.Error("unreadable stored preferences; using the defaults", "key", b.names.Prefs(userID), "error", err.Error())
	}
	return p, nil
}

// SetPreferences stores p for broker.PrefsTTL and publishes the change on userID's
// channel, in one MULTI.
func (b *Broker) SetPreferences(ctx context.Context, userID string, p broker.Prefs) (broker.Prefs, error) {
	p, data, err := p.Encode()
	if err != nil {
		return p, err
	}
	key := b.names.Prefs(userID)
	ctl := broker.Control{Kind: broker.ControlPrefs, Data: data}
	_, err = b.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, key, data, broker.PrefsTTL)
		b.publishTo(ctx, pipe, b.names.Channel(userID), ctl.Payload())
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("set %s: %w", key, err)
	}
	return p, nil
}
