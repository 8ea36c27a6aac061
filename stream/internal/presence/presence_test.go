package presence

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

type store interface {
	Acquire(ctx context.Context, user, conn string, limit int) (bool, error)
	Release(ctx context.Context, user, conn string) error
	Refresh(ctx context.Context, conns map[string]string) error
	Count(ctx context.Context, user string) (int, error)
}

var redisSrv *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.Main(m, func(s *redistest.Server) { redisSrv = s }))
}

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

var prefixes atomic.Int64

func TestCapAndExpiry(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	defer rdb.Close()
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	for name, s := range map[string]store{
		"memory": NewMemory(c.now),
		"redis":  NewRedis(rdb, rediskey.Names{Prefix: fmt.Sprint("p", prefixes.Add(1))}, c.now),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			user := "u-" + name
			for i := range 3 {
				if ok, err := s.Acquire(ctx, user, fmt.Sprint("a/", i), 3); !ok || err != nil {
					t.Fatalf("acquire %d: %v %v", i, ok, err)
				}
			}
			if ok, _ := s.Acquire(ctx, user, "b/0", 3); ok {
				t.Fatal("fourth connection admitted over a cap of 3")
			}
			if ok, _ := s.Acquire(ctx, user, "a/0", 3); !ok {
				t.Fatal("re-acquiring a held connection was refused")
			}
			if ok, _ := s.Acquire(ctx, "other", "b/0", 3); !ok {
				t.Fatal("another user was capped")
			}
			s.Release(ctx, user, "a/2")
			if ok, _ := s.Acquire(ctx, user, "b/0", 3); !ok {
				t.Fatal("slot not freed by Release")
			}
			// Instance a dies: its entries lapse after TTL unless refreshed; b's are refreshed.
			c.add(20 * time.Second)
			s.Refresh(ctx, map[string]string{"b/0": user})
			c.add(15 * time.Second)
			if n, _ := s.Count(ctx, user); n != 1 {
				t.Fatalf("count after instance a expired = %d, want 1", n)
			}
			for i := range 2 {
				if ok, _ := s.Acquire(ctx, user, fmt.Sprint("c/", i), 3); !ok {
					t.Fatal("expired entries still count against the cap")
				}
			}
		})
	}
}

// TestInstanceLease: an instance's connections count as long as it refreshes — listed
// or not, long past their own TTL — and stop counting within TTL of its last refresh
// once it dies (nothing released): the cap frees, Count drops, and the next Acquire
// removes the dead entries.
func TestInstanceLease(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	defer rdb.Close()
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	names := rediskey.Names{Prefix: fmt.Sprint("p", prefixes.Add(1))}
	for name, s := range map[string]store{"memory": NewMemory(c.now), "redis": NewRedis(rdb, names, c.now)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			user := "u-lease-" + name
			for i := range 3 {
				if ok, err := s.Acquire(ctx, user, fmt.Sprint("dead/", i), 3); !ok || err != nil {
					t.Fatalf("acquire %d: %v %v", i, ok, err)
				}
			}
			// Alive for two minutes: a refresh every 10 s listing one of its connections
			// keeps all three.
			for range 12 {
				c.add(10 * time.Second)
				if err := s.Refresh(ctx, map[string]string{"dead/0": user}); err != nil {
					t.Fatal(err)
				}
				if n, _ := s.Count(ctx, user); n != 3 {
					t.Fatalf("count while the instance refreshes = %d, want 3", n)
				}
			}
			if ok, _ := s.Acquire(ctx, user, "live/0", 3); ok {
				t.Fatal("admitted over the cap while the instance lives")
			}
			// The instance dies right after its last refresh.
			c.add(TTL - time.Second)
			if ok, _ := s.Acquire(ctx, user, "live/0", 3); ok {
				t.Fatal("admitted over the cap before the lease ran out")
			}
			c.add(time.Second)
			if n, _ := s.Count(ctx, user); n != 0 {
				t.Fatalf("count %s after the instance's last refresh = %d, want 0", TTL, n)
			}
			if ok, _ := s.Acquire(ctx, user, "live/0", 3); !ok {
				t.Fatalf("the dead instance still holds the cap %s after its last refresh", TTL)
			}
			if r, ok := s.(*Redis); ok {
				if n := rdb.ZCard(ctx, r.names.Presence(user)).Val(); n != 1 {
					t.Errorf("entries left after the acquire = %d, want 1 (the dead ones removed)", n)
				}
			}
		})
	}
}

// TestNewInstanceBeforeItsFirstRefresh: an entry counts for TTL after its admission
// without any lease (an instance refreshes a few seconds after it starts), and not
// after that unless its instance refreshed.
func TestNewInstanceBeforeItsFirstRefresh(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	defer rdb.Close()
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	names := rediskey.Names{Prefix: fmt.Sprint("p", prefixes.Add(1))}
	for name, s := range map[string]store{"memory": NewMemory(c.now), "redis": NewRedis(rdb, names, c.now)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s.Acquire(ctx, "u-new", "new/1", 1)
			c.add(TTL - time.Millisecond)
			if n, _ := s.Count(ctx, "u-new"); n != 1 {
				t.Fatalf("count within TTL of admission = %d, want 1", n)
			}
			c.add(time.Millisecond)
			if n, _ := s.Count(ctx, "u-new"); n != 0 {
				t.Fatalf("count TTL after admission, never refreshed = %d, want 0", n)
			}
		})
	}
}

// TestRefreshCostsPerInstance: refreshing 200 connections of 100 users is a handful of
// commands, not two per connection (the old ZADD XX + PEXPIRE each: 400 per round), and
// over KeySweep rounds every user's key is extended once.
func TestRefreshCostsPerInstance(t *testing.T) {
	t.Parallel()
	p, rdb, names, _, cmds := countedRedis(t)
	ctx := context.Background()
	conns := map[string]string{}
	for i := range 200 {
		user := fmt.Sprint("u-", i%100)
		conn := fmt.Sprint("inst/", i)
		if ok, err := p.Acquire(ctx, user, conn, 10); !ok || err != nil {
			t.Fatal(ok, err)
		}
		conns[conn] = user
		rdb.PExpire(ctx, names.Presence(user), time.Minute) // to see the sweep extend it
	}
	cmds.Store(0)
	for range KeySweep {
		if err := p.Refresh(ctx, conns); err != nil {
			t.Fatal(err)
		}
	}
	// Per round: the lease (ZADD), the expired leases (ZREMRANGEBYSCORE), the leases'
	// key (PEXPIRE); plus each user's key once over the sweep.
	if n, want := cmds.Load(), int64(3*KeySweep+100); n != want {
		t.Errorf("%d rounds of refresh for 200 connections of 100 users: %d commands, want %d (per connection: %d)",
			KeySweep, n, want, 2*200*KeySweep)
	}
	for i := range 100 {
		if ttl := rdb.PTTL(ctx, names.Presence(fmt.Sprint("u-", i))).Val(); ttl < KeyTTL-time.Minute {
			t.Fatalf("user %d's key expires in %s after a full sweep, want ~%s", i, ttl, KeyTTL)
		}
	}
}

// counter counts the commands a client sends, pipelined ones included, but not those
// that set up a new connection (HELLO, CLIENT SETINFO).
type counter struct{ n *atomic.Int64 }

func (c counter) add(cmds ...redis.Cmder) {
	for _, cmd := range cmds {
		if name := cmd.Name(); name != "hello" && name != "client" {
			c.n.Add(1)
		}
	}
}

func (c counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.add(cmd); return next(ctx, cmd) }
}
func (c counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.add(cmds...); return next(ctx, cmds) }
}

// TestCountReadsTheLeasesOncePerLeaseAge: Web Push counts a user's streams once per
// notification; that stays one command (the user's entries), with the leases read
// once per leaseAge for all users, even when every entry is past its own TTL and
// counts by its instance's lease.
func TestCountReadsTheLeasesOncePerLeaseAge(t *testing.T) {
	t.Parallel()
	p, _, _, c, cmds := countedRedis(t)
	ctx := context.Background()
	conns := map[string]string{}
	for i := range 10 {
		conn, user := fmt.Sprint("inst/", i), fmt.Sprint("u-", i)
		p.Acquire(ctx, user, conn, 1)
		conns[conn] = user
	}
	c.add(TTL) // every entry now counts by the lease only
	p.Refresh(ctx, conns)
	cmds.Store(0)
	for i := range 100 {
		if n, err := p.Count(ctx, fmt.Sprint("u-", i%10)); n != 1 || err != nil {
			t.Fatalf("count = %d, %v; want 1", n, err)
		}
		c.add(leaseAge / 50)
	}
	// 100 counts over two leaseAge: 100 reads of the users' entries, 2–3 of the leases.
	if n := cmds.Load(); n > 103 {
		t.Errorf("100 counts: %d commands, want at most 103", n)
	}
}

// countedRedis is a Redis store under its own prefix whose client counts every command
// it sends, with a clock the test moves.
func countedRedis(t *testing.T) (*Redis, *redis.Client, rediskey.Names, *clock, *atomic.Int64) {
	t.Helper()
	cmds := new(atomic.Int64)
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { rdb.Close() })
	rdb.AddHook(counter{cmds})
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	names := rediskey.Names{Prefix: fmt.Sprint("p", prefixes.Add(1))}
	return NewRedis(rdb, names, c.now), rdb, names, c, cmds
}
