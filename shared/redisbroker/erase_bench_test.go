package redisbroker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// BenchmarkExportAndEraseAmong200kKeys measures what the SCAN of a user's shard costs
// export and erasure when the shard holds 200,000 other keys (docs/PRIVACY.md).
func BenchmarkExportAndEraseAmong200kKeys(b *testing.B) {
	ctx := context.Background()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		b.Fatal(err)
	}
	defer rdb.Close()
	names := rediskey.Names{Prefix: fmt.Sprintf("bx%d", prefix.Add(1))}
	const others = 200000
	for i := 0; i < others; i += 10000 {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < i+10000; j++ {
				p.Set(ctx, names.Prefs(fmt.Sprint("other-", j)), "{}", 0)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		iter := rdb.Scan(ctx, 0, names.Prefix+":*", 10000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				rdb.Del(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	}()
	br, err := redisbroker.New(rdb, names, broker.DefaultLimits, redisbroker.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := redisbroker.NewPrivacy(rdb, names, broker.DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		for i := range 20 {
			if _, _, err := br.Publish(ctx, "subject", fmt.Sprint("m", i), brokertest.Sample(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, err := p.Export(ctx, "subject", nil); err != nil {
			b.Fatal(err)
		}
		if _, err := p.EraseUser(ctx, "subject"); err != nil {
			b.Fatal(err)
		}
	}
}
