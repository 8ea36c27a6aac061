package rooms

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// RedisFanout carries frames between instances over Redis pub/sub on each room's
// channel: PUBLISH/SUBSCRIBE on a standalone server, SPUBLISH/SSUBSCRIBE on a cluster
// (the channel carries the room's hash tag, so it lives on the room's shard). One
// subscription connection per room with sockets on this instance: a cluster shard
// subscription is bound to one node, so rooms cannot share one.
type RedisFanout struct {
	rdb     redis.UniversalClient
	prefix  string
	deliver func(room string, frame []byte)

	mu   sync.Mutex
	subs map[string]*roomSub
}

type roomSub struct {
	ps   *redis.PubSub
	done chan struct{}
}

var _ Fanout = (*RedisFanout)(nil)

// NewRedisFanout returns a fan-out over rdb (a *redis.ClusterClient means sharded
// pub/sub); prefix is the deployment's key prefix.
func NewRedisFanout(rdb redis.UniversalClient, prefix string) *RedisFanout {
	return &RedisFanout{rdb: rdb, prefix: prefix, subs: map[string]*roomSub{}}
}

// SetDeliver sets where incoming frames go (the hub); set it before Subscribe.
func (f *RedisFanout) SetDeliver(fn func(room string, frame []byte)) { f.deliver = fn }

func (f *RedisFanout) channel(room string) string {
	return rediskey.Names{Prefix: f.prefix}.RoomChannel(room)
}

func (f *RedisFanout) Publish(ctx context.Context, room string, frame []byte) error {
	var err error
	if c, ok := f.rdb.(*redis.ClusterClient); ok {
		err = c.SPublish(ctx, f.channel(room), frame).Err()
	} else {
		err = f.rdb.Publish(ctx, f.channel(room), frame).Err()
	}
	if err != nil {
		return fmt.Errorf("publish to room %s: %w", room, err)
	}
	return nil
}

// Subscribe returns once the subscription is confirmed, so nothing published after it
// is missed.
func (f *RedisFanout) Subscribe(ctx context.Context, room string) error {
	var ps *redis.PubSub
	if c, ok := f.rdb.(*redis.ClusterClient); ok {
		ps = c.SSubscribe(ctx, f.channel(room))
	} else {
		ps = f.rdb.Subscribe(ctx, f.channel(room))
	}
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		_ = ps.Close()
		return fmt.Errorf("subscribe to room %s: %w", room, err)
	}
	s := &roomSub{ps: ps, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for m := range ps.Channel() {
			f.deliver(room, []byte(m.Payload))
		}
	}()
	f.mu.Lock()
	old := f.subs[room]
	f.subs[room] = s
	f.mu.Unlock()
	if old != nil {
		old.stop()
	}
	return nil
}

func (f *RedisFanout) Unsubscribe(_ context.Context, room string) error {
	f.mu.Lock()
	s := f.subs[room]
	delete(f.subs, room)
	f.mu.Unlock()
	if s != nil {
		s.stop()
	}
	return nil
}

// Close ends every subscription and waits for their goroutines.
func (f *RedisFanout) Close() {
	f.mu.Lock()
	subs := f.subs
	f.subs = map[string]*roomSub{}
	f.mu.Unlock()
	for _, s := range subs {
		s.stop()
	}
}

func (s *roomSub) stop() {
	_ = s.ps.Close() // closes Channel(), so the goroutine returns
	<-s.done
}
