package fcm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/shared/redistest"
)

var redisSrv *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.Main(m, func(s *redistest.Server) { redisSrv = s }))
}

var prefixes atomic.Int64

func newRedis(t testing.TB) (*redis.Client, rediskey.Names) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb, rediskey.Names{Prefix: fmt.Sprint("f", prefixes.Add(1))}
}

func TestDeviceValidate(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		d  Device
		ok bool
	}{
		"android":        {Device{"dA1:APA91b_x-y", "android"}, true},
		"ios":            {Device{"abc", "ios"}, true},
		"web":            {Device{"abc", "web"}, true},
		"max length":     {Device{strings.Repeat("a", 4096), "ios"}, true},
		"too long":       {Device{strings.Repeat("a", 4097), "ios"}, false},
		"empty token":    {Device{"", "ios"}, false},
		"space":          {Device{"a b", "ios"}, false},
		"slash":          {Device{"a/b", "ios"}, false},
		"non-ascii":      {Device{"é", "ios"}, false},
		"no platform":    {Device{"abc", ""}, false},
		"other platform": {Device{"abc", "windows"}, false},
		"upper platform": {Device{"abc", "IOS"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.d.Validate()
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalidDevice) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && len(tc.d.Token) > 2 && strings.Contains(err.Error(), tc.d.Token) {
				t.Fatalf("error %q repeats the token", err)
			}
		})
	}
}

// TestStoreContract runs the same cases against both stores.
func TestStoreContract(t *testing.T) {
	t.Parallel()
	rdb, names := newRedis(t)
	for name, s := range map[string]Store{"memory": NewMemoryStore(), "redis": NewRedisStore(rdb, names)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			user := "u-" + name
			tok := func(i int) string { return fmt.Sprintf("tok-%s-%d", name, i) }
			if created, err := s.Add(ctx, user, Device{tok(0), "android"}); err != nil || !created {
				t.Fatalf("first add: created=%v err=%v", created, err)
			}
			if created, err := s.Add(ctx, user, Device{tok(0), "android"}); err != nil || created {
				t.Fatalf("same token again: created=%v err=%v, want known", created, err)
			}
			for i := 1; i < MaxDevices; i++ {
				if _, err := s.Add(ctx, user, Device{tok(i), "ios"}); err != nil {
					t.Fatalf("device %d: %v", i+1, err)
				}
			}
			if _, err := s.Add(ctx, user, Device{tok(99), "ios"}); !errors.Is(err, ErrTooManyDevices) {
				t.Fatalf("11th device: %v, want ErrTooManyDevices", err)
			}
			if _, err := s.Add(ctx, user, Device{tok(3), "web"}); err != nil {
				t.Fatalf("re-registering a known token at the cap: %v", err)
			}
			if _, err := s.Add(ctx, user, Device{"bad token", "ios"}); !errors.Is(err, ErrInvalidDevice) {
				t.Fatalf("invalid: %v", err)
			}
			if err := s.Remove(ctx, user, tok(3)); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, user, "unknown"); err != nil {
				t.Fatal(err)
			}
			got, err := s.List(ctx, user)
			if err != nil || len(got) != MaxDevices-1 {
				t.Fatalf("List = %d devices, %v; want %d", len(got), err, MaxDevices-1)
			}
			if _, err := s.Add(ctx, user, Device{tok(99), "ios"}); err != nil {
				t.Fatalf("after a removal there is room again: %v", err)
			}
			if n, err := s.Count(ctx, user); err != nil || n != MaxDevices {
				t.Fatalf("Count = %d, %v; want %d", n, err, MaxDevices)
			}
			if n, err := s.Count(ctx, "nobody"); err != nil || n != 0 {
				t.Fatalf("Count of a user without devices = %d, %v", n, err)
			}
		})
	}
}

// TestRedisStoreTTL: devices expire unless used; adding and listing renew the TTL.
func TestRedisStoreTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, names := newRedis(t)
	s := NewRedisStore(rdb, names)
	if _, err := s.Add(ctx, "ttl", Device{"t1", "ios"}); err != nil {
		t.Fatal(err)
	}
	key := names.PushDevices("ttl")
	if !strings.Contains(key, "{ttl}") {
		t.Fatalf("key %q is not under the user's hash tag", key)
	}
	rdb.PExpire(ctx, key, 1000*time.Second) // short of DeviceTTL: List must renew it
	if _, err := s.List(ctx, "ttl"); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl < DeviceTTL-60e9 {
		t.Fatalf("TTL after List = %v, want renewed to ~%v", ttl, DeviceTTL)
	}
}
