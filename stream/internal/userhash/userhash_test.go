package userhash

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

type rec struct{ Name string }

// TestPutAndList: a new field is added under the cap, a known one replaced even at the
// cap, a new one past it refused with nothing written; List renews the TTL, skips
// values that do not decode and those keep refuses.
func TestPutAndList(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	const key, ttl = "u:{ada}:things", time.Hour
	for _, step := range []struct {
		field string
		want  Result
	}{{"a", Added}, {"b", Added}, {"a", Replaced}, {"c", Full}} {
		got, err := Put(ctx, rdb, key, step.field, rec{Name: step.field + "!"}, 2, ttl)
		if err != nil || got != step.want {
			t.Fatalf("Put %s = %v, %v; want %v", step.field, got, err, step.want)
		}
	}
	rdb.HSet(ctx, key, "x", "not json")
	rdb.PExpire(ctx, key, time.Minute)
	got, err := List(ctx, rdb, key, ttl, func(r rec) bool { return r.Name != "b!" })
	if err != nil || len(got) != 1 || got[0].Name != "a!" {
		t.Fatalf("List = %v, %v; want [a!]", got, err)
	}
	if left := rdb.PTTL(ctx, key).Val(); left < ttl-time.Minute {
		t.Errorf("TTL after List %s, want renewed to %s", left, ttl)
	}
}
