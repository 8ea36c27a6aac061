package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
)

// Sharded pub/sub (Redis Cluster). Each channel is a shard channel in its log's slot
// (rediskey.Names.Sharded), published with SPUBLISH by the script that stores the
// notification, so it is received only from that slot's master. A session holds one
// pub/sub connection per master and subscribes each channel there with its own
// SSUBSCRIBE: one command naming channels of two slots is refused (CROSSSLOT), which is
// also why go-redis' own reconnect of such a connection never recovers
// (docs/CLUSTER-NOTES.md, redis/go-redis#3133). So any failure of any connection ends
// the whole session, as a lost connection does on one Redis: the next session
// resubscribes every channel on the masters that own them then, and the consumers
// replay their logs (sink.Resync). A slot that moves away (the master answers
// sunsubscribe for a channel we still want) is such a failure too.

// errSlotMoved ends a session whose master gave up a slot we listen on, or whose
// masters do not include a channel's owner any more.
var errSlotMoved = errors.New("a subscribed slot moved to another master")

// shardSet is a session's connections, one per master; it is the session's subscriber.
type shardSet struct {
	cluster *redis.ClusterClient
	conns   map[string]*shardConn // by master address; fixed once built
	events  chan shardEvent
	failed  chan error    // the first failure a Subscribe noticed
	done    chan struct{} // closed when the session ends: receivers stop sending
	wg      sync.WaitGroup

	mu      sync.Mutex
	leaving map[string]int // channels with an SUNSUBSCRIBE in flight
}

// shardConn is the pub/sub connection to one master.
type shardConn struct {
	addr string
	ps   *redis.PubSub
}

// shardEvent is one reply (or the failure) of one connection.
type shardEvent struct {
	conn *shardConn
	msg  any
	err  error
}

// openShards makes a connection to every master (they dial on their first command).
func (b *Broker) openShards(ctx context.Context) (*shardSet, error) {
	s := &shardSet{cluster: b.cluster, conns: map[string]*shardConn{}, events: make(chan shardEvent, 64),
		failed: make(chan error, 1), done: make(chan struct{}), leaving: map[string]int{}}
	var mu sync.Mutex
	err := b.cluster.ForEachMaster(ctx, func(_ context.Context, node *redis.Client) error {
		addr := node.Options().Addr
		mu.Lock()
		defer mu.Unlock()
		s.conns[addr] = &shardConn{addr: addr, ps: node.SSubscribe(ctx)}
		return nil
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("cluster masters: %w", err)
	}
	return s, nil
}

// connFor is the connection to the master that owns channel's slot now.
func (s *shardSet) connFor(ctx context.Context, channel string) (*shardConn, error) {
	node, err := s.cluster.MasterForKey(ctx, channel)
	if err != nil {
		return nil, err
	}
	c, ok := s.conns[node.Options().Addr]
	if !ok {
		return nil, fmt.Errorf("%w: %s is on %s", errSlotMoved, channel, node.Options().Addr)
	}
	return c, nil
}

// Subscribe sends one SSUBSCRIBE per channel to its master. A channel whose master is
// not among the session's ends the session (the next one has it).
func (s *shardSet) Subscribe(ctx context.Context, channels ...string) error {
	for _, ch := range channels {
		c, err := s.connFor(ctx, ch)
		if err == nil {
			err = c.ps.SSubscribe(ctx, ch)
		}
		if err != nil {
			s.fail(err)
			return err
		}
	}
	return nil
}

// Unsubscribe sends SUNSUBSCRIBE; its confirmation is told apart from a slot moving
// away by the count of those in flight.
func (s *shardSet) Unsubscribe(ctx context.Context, channels ...string) error {
	for _, ch := range channels {
		c, err := s.connFor(ctx, ch)
		if err != nil {
			s.fail(err)
			return err
		}
		s.mu.Lock()
		s.leaving[ch]++
		s.mu.Unlock()
		if err := c.ps.SUnsubscribe(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

// left reports whether a sunsubscribe of channel answers our own SUNSUBSCRIBE.
func (s *shardSet) left(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leaving[channel] == 0 {
		return false
	}
	if s.leaving[channel]--; s.leaving[channel] == 0 {
		delete(s.leaving, channel)
	}
	return true
}

func (s *shardSet) fail(err error) {
	select {
	case s.failed <- err:
	default:
	}
}

// receive forwards conn's replies to the session until it fails or the session ends,
// pinging it when idle like the single connection of one Redis (live.go).
func (s *shardSet) receive(ctx context.Context, c *shardConn, interval time.Duration) {
	defer s.wg.Done()
	heard := time.Now()
	for {
		msg, err := c.ps.ReceiveTimeout(ctx, interval)
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				if time.Since(heard) <= 3*interval {
					err = c.ps.Ping(ctx)
				} else {
					err = errStale
				}
				if err == nil {
					continue
				}
			}
			s.send(shardEvent{conn: c, err: fmt.Errorf("master %s: %w", c.addr, err)})
			return
		}
		heard = time.Now()
		if !s.send(shardEvent{conn: c, msg: msg}) {
			return
		}
	}
}

func (s *shardSet) send(ev shardEvent) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.done:
		return false
	}
}

// close ends the session's connections and waits for its receivers.
func (s *shardSet) close() {
	close(s.done)
	for _, c := range s.conns {
		_ = c.ps.Close()
	}
	s.wg.Wait()
}

// shardSession is session (live.go) on a cluster: it subscribes every channel on its
// owner, waits for every master's barrier, then resyncs and delivers like session.
func (b *Broker) shardSession(ctx context.Context, sink broker.Sink, resync bool) (syncedAt time.Time, err error) {
	// A failure may come from a topology change the client has not seen yet.
	b.cluster.ReloadState(ctx)
	s, err := b.openShards(ctx)
	if err != nil {
		return syncedAt, err
	}
	b.mu.Lock()
	b.ps = s
	chans := slices.Collect(maps.Keys(b.channels))
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.ps = nil
		b.mu.Unlock()
		s.close()
	}()
	if err := s.Subscribe(ctx, chans...); err != nil {
		return syncedAt, fmt.Errorf("resubscribe: %w", err)
	}
	const barrier = "resync"
	for _, c := range s.conns {
		if err := c.ps.Ping(ctx, barrier); err != nil {
			return syncedAt, fmt.Errorf("ping %s: %w", c.addr, err)
		}
		s.wg.Add(1)
		go s.receive(ctx, c, b.opts.PingInterval)
	}
	b.lastHeard.Store(time.Now().UnixNano())
	waiting := len(s.conns) // barriers not yet answered
	var held []shardEvent
	var order merge
	for {
		var ev shardEvent
		if order.empty() {
			select {
			case <-ctx.Done():
				return syncedAt, ctx.Err()
			case err := <-s.failed:
				return syncedAt, err
			case ev = <-s.events:
			}
		} else {
			select {
			case ev = <-s.events:
			default:
				// Nothing else has arrived: hand on the oldest message in sight.
				b.deliver(sink, order.pop())
				continue
			}
		}
		if ev.err != nil {
			return syncedAt, ev.err
		}
		b.lastHeard.Store(time.Now().UnixNano())
		switch m := ev.msg.(type) {
		case *redis.Pong:
			if m.Payload == barrier && syncedAt.IsZero() {
				if waiting--; waiting > 0 {
					continue
				}
				syncedAt = time.Now()
				if resync {
					sink.Resync()
				}
				for _, h := range held {
					order.push(h.conn, h.msg.(*redis.Message))
				}
				held = nil
			}
		case *redis.Subscription:
			switch {
			case m.Kind == "ssubscribe":
				b.confirm(m.Channel)
			case m.Kind == "sunsubscribe" && !s.left(m.Channel) && b.wanted(m.Channel):
				return syncedAt, fmt.Errorf("%w: %s left %s", errSlotMoved, m.Channel, ev.conn.addr)
			}
		case *redis.Message:
			if syncedAt.IsZero() {
				held = append(held, ev)
				continue
			}
			order.push(ev.conn, m)
		}
	}
}

// wanted reports whether channel is subscribed (some stream of this process wants it).
func (b *Broker) wanted(channel string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.channels[channel]
	return ok
}
