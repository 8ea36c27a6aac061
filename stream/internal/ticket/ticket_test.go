package ticket

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

var redisSrv *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.Main(m, func(s *redistest.Server) { redisSrv = s }))
}

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *clock               { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func identity(c *clock, d time.Duration) auth.Identity {
	return auth.Identity{UserID: "u-42", Expires: c.now().Add(d).Truncate(time.Second), Groups: []string{"class-7b", "school_3"}}
}

var prefixes atomic.Int64

// stores returns both implementations; the Redis ones share a server, as instances do.
func stores(t *testing.T, c *clock) map[string]func() Store {
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { rdb.Close() })
	names := rediskey.Names{Prefix: fmt.Sprint("tk", prefixes.Add(1))}
	mem := NewMemoryStore(c.now)
	return map[string]func() Store{
		"memory": func() Store { return mem },
		"redis":  func() Store { return NewRedisStore(rdb, names) },
	}
}

func TestIssueAndRedeem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	for name, store := range stores(t, c) {
		t.Run(name, func(t *testing.T) {
			a, _ := New(store(), 60*time.Second, c.now)
			b, _ := New(store(), 60*time.Second, c.now) // another instance, same storage
			id := identity(c, time.Hour)
			tk, ttl, err := a.Issue(ctx, id)
			if err != nil || ttl != 60*time.Second || len(tk) != encodedLen {
				t.Fatalf("Issue = %q, %v, %v", tk, ttl, err)
			}
			got, err := b.Redeem(ctx, tk)
			if err != nil || !reflect.DeepEqual(got, id) {
				t.Fatalf("Redeem on another instance = %+v, %v; want %+v", got, err, id)
			}
			// A teacher's role rides in the ticket (a room's socket needs it), with or
			// without groups.
			for _, teacher := range []auth.Identity{{UserID: "t-1", Expires: id.Expires, Groups: id.Groups, Teacher: true},
				{UserID: "t-2", Expires: id.Expires, Teacher: true}} {
				tt, _, err := a.Issue(ctx, teacher)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := b.Redeem(ctx, tt); err != nil || !reflect.DeepEqual(got, teacher) {
					t.Fatalf("Redeem(teacher) = %+v, %v; want %+v", got, err, teacher)
				}
			}
			if _, err := a.Redeem(ctx, tk); !errors.Is(err, ErrInvalid) {
				t.Fatalf("second Redeem = %v, want ErrInvalid", err)
			}
			for _, bad := range []string{"", "x", strings.Repeat("A", 42), strings.Repeat("A", 44), tk[:42] + "=", tk[:42] + "\n", strings.Repeat("A", 43)} {
				if _, err := a.Redeem(ctx, bad); !errors.Is(err, ErrInvalid) {
					t.Errorf("Redeem(%q) = %v", bad, err)
				}
			}
		})
	}
}

func TestTicketNeverOutlivesItsToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	is, _ := New(NewMemoryStore(c.now), 60*time.Second, c.now)
	_, ttl, err := is.Issue(ctx, identity(c, 20*time.Second))
	if err != nil || ttl > 20*time.Second || ttl < 18*time.Second {
		t.Fatalf("ttl = %v, %v; want about 20s (the token's remaining life)", ttl, err)
	}
	if _, _, err := is.Issue(ctx, identity(c, 0)); !errors.Is(err, auth.ErrExpired) {
		t.Fatalf("Issue for an expiring token = %v", err)
	}
	tk, _, _ := is.Issue(ctx, identity(c, time.Hour))
	c.add(61 * time.Second)
	if _, err := is.Redeem(ctx, tk); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired ticket redeemed: %v", err)
	}
}

func TestConcurrentRedeemOneWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	for name, store := range stores(t, c) {
		t.Run(name, func(t *testing.T) {
			is, _ := New(store(), time.Minute, c.now)
			tk, _, _ := is.Issue(ctx, identity(c, time.Hour))
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := is.Redeem(ctx, tk); err == nil {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d redemptions succeeded, want 1", wins.Load())
			}
		})
	}
}

func TestStoredUnderItsHashOnly(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	defer rdb.Close()
	names := rediskey.Names{Prefix: "hashcheck"}
	is, _ := New(NewRedisStore(rdb, names), time.Minute, time.Now)
	tk, _, _ := is.Issue(context.Background(), auth.Identity{UserID: "u", Expires: time.Now().Add(time.Hour)})
	keys, _ := rdb.Keys(context.Background(), "hashcheck:*").Result()
	if len(keys) != 1 || strings.Contains(keys[0], tk) {
		t.Fatalf("keys %v reveal the ticket", keys)
	}
	if ttl := rdb.TTL(context.Background(), keys[0]).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ticket key TTL %v", ttl)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, time.Minute, time.Now); err == nil {
		t.Fatal("nil store accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{strings.Repeat("A", 43), strings.Repeat("_", 43), "", "eyJhbGciOi.x.y", strings.Repeat("A", 42) + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := Parse(s)
		if err != nil {
			return
		}
		if len(s) != encodedLen || strings.ContainsAny(s, "=+/\r\n.") {
			t.Fatalf("accepted %q", s)
		}
		if k := key(raw); len(k) != 64 {
			t.Fatalf("key %q", k)
		}
	})
}
