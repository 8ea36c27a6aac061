package redisbroker

import (
	"context"
	"time"

	"golang.org/x/oauth2"
)

// Waiters reports how many Subscribe calls b holds as waiting for a confirmation, and
// for how many channels.
func Waiters(b *Broker) (calls, channels int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ws := range b.waiters {
		calls += len(ws)
	}
	return calls, len(b.waiters)
}

// SetClock replaces the clock b's replica accounting reads (the log rate limit and
// the replica count's cache).
func SetClock(b *Broker, now func() time.Time) { b.repl.now = now }

// LogKey is the Redis key of source's log.
func LogKey(b *Broker, source string) string { return b.names.Log(source) }

// ChannelOf is the pub/sub channel of source's live notifications.
func ChannelOf(b *Broker, source string) string { return b.names.Channel(source) }

// SetTokenSource replaces where IAM authentication gets its access tokens.
func SetTokenSource(f func(context.Context) (oauth2.TokenSource, error)) { tokenSource = f }
