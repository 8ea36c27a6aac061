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
