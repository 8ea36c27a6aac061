package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Broadcast mode (-broadcast N). Once every connection is open and the per-user phase
// is over, the tool publishes N notifications to everyone (audience all: one entry in
// the broadcast log broker.Everyone and one PUBLISH, fanned out by each stream process
// to all its connections), one every -broadcast-interval. Each carries its number and
// the time it was sent in its title (lt-b-<k>-<sent unix ns>); every connection records
// when it got it. Per broadcast the summary reports the time to the first connection,
// p50, p99 and the last connection (the fan-out time), and the connections that got it
// not at all or more than once: every connection must get each broadcast exactly once.
//
// A broadcast is published either straight into Redis through shared/redisbroker (the
// default: -redis, the broker's key prefix -redis-prefix) — the same script the
// function runs, minus the function's HTTP leg — or through the function's Publish
// entry point (-broadcast-function URL: a CloudEvent whose data is an announcement with
// "audience":{"all":true}, docs/PROTOCOL.md "Input 2: notifications from any service").

// broadcastTitle is how a broadcast's title starts; the receiving worker reads k and
// the send time after it.
const broadcastTitle = "lt-b-"

var broadcastKey = []byte(`"title":"` + broadcastTitle)

// Ways a broadcast is published (summary.BroadcastVia).
const (
	viaRedis    = "redis"
	viaFunction = "function"
)

// broadcaster publishes broadcast k, sent at sent, to every user.
type broadcaster interface {
	broadcast(ctx context.Context, k int, sent time.Time) error
	close()
}

func broadcastTitleOf(k int, sent time.Time) string {
	return fmt.Sprintf("%s%d-%d", broadcastTitle, k, sent.UnixNano())
}

// checkBroadcast validates the broadcast options (o.broadcasts > 0).
func (o *options) checkBroadcast() error {
	switch {
	case o.broadcasts < 0:
		return errors.New("-broadcast must be ≥ 0")
	case o.broadcasts == 0:
		return nil
	case o.system != systemOurs:
		return errors.New("-broadcast drives this project only (-system ours)")
	case o.publishOnly || o.conns == 0:
		return errors.New("-broadcast needs connections (-conns > 0, no -publish-only)")
	case o.broadcastInterval <= 0:
		return errors.New("-broadcast-interval must be positive")
	case o.broadcastFunction != "":
		return loopbackOnly(o.broadcastFunction)
	case o.redisAddr == "":
		return errors.New("-broadcast needs -redis (or REDIS_ADDR), or -broadcast-function")
	}
	if _, _, err := net.SplitHostPort(o.redisAddr); err != nil {
		return fmt.Errorf("-redis %q: %w", o.redisAddr, err)
	}
	return loopbackOnly("redis://" + o.redisAddr)
}

// sentBroadcast is one broadcast as the coordinator published it.
type sentBroadcast struct {
	k      int
	sent   time.Time
	answer time.Duration // publish call → return (the script, or the function's answer)
	err    error
}

// broadcastWindow is the servers' CPU over one broadcast interval, in two halves:
// the first starts with the publish and holds the fan-out, the second is the same
// length of idle time right after it. Their difference is what the broadcast cost,
// measured against the idle work (heartbeats, presence refresh, GC) of the same
// moment.
type broadcastWindow struct {
	start, mid, end []procSample
	first, second   float64 // seconds
}

// broadcastAll publishes o.broadcasts broadcasts, one at the start of each interval,
// sampling the watched servers at the start, middle and end of each interval.
func broadcastAll(ctx context.Context, o options, watch []watched) ([]sentBroadcast, []broadcastWindow, error) {
	b, err := newBroadcaster(o)
	if err != nil {
		return nil, nil, err
	}
	defer b.close()
	var sent []sentBroadcast
	var windows []broadcastWindow
	sleepUntil := func(t time.Time) error {
		select {
		case <-time.After(time.Until(t)):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	start := time.Now()
	for k := range o.broadcasts {
		due := start.Add(time.Duration(k) * o.broadcastInterval)
		if err := sleepUntil(due); err != nil {
			return sent, windows, err
		}
		var w broadcastWindow
		w.start = sample(watch)
		t := time.Now()
		err := b.broadcast(ctx, k, t)
		sent = append(sent, sentBroadcast{k: k, sent: t, answer: time.Since(t), err: err})
		if err := sleepUntil(due.Add(o.broadcastInterval / 2)); err != nil {
			return sent, windows, err
		}
		w.mid, w.first = sample(watch), time.Since(t).Seconds()
		mid := time.Now()
		if err := sleepUntil(due.Add(o.broadcastInterval)); err != nil {
			return sent, windows, err
		}
		w.end, w.second = sample(watch), time.Since(mid).Seconds()
		windows = append(windows, w)
	}
	return sent, windows, nil
}

// redisAddrDefault is REDIS_ADDR (scripts/loadtest.sh exports the private Redis's).
func redisAddrDefault() string { return os.Getenv("REDIS_ADDR") }

// redisPrefixDefault is the key prefix the servers use (REDIS_KEY_PREFIX, as
// shared/config reads it), or rediskey.DefaultPrefix.
func redisPrefixDefault() string {
	if p := os.Getenv("REDIS_KEY_PREFIX"); p != "" {
		return p
	}
	return rediskey.DefaultPrefix
}
