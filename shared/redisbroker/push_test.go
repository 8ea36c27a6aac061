package redisbroker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// TestPublishEnqueuesPush: with EnqueuePush, each newly stored notification is queued
// once for Web Push with its SSE data (a redelivery is not queued again); without it,
// nothing is queued.
func TestPublishEnqueuesPush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("enqueue=", on), func(t *testing.T) {
			rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Close() })
			names := rediskey.Names{Prefix: fmt.Sprintf("t%d", prefix.Add(1))}
			b, err := redisbroker.New(rdb, names, broker.DefaultLimits, redisbroker.Options{PingInterval: 100 * time.Millisecond, EnqueuePush: on})
			if err != nil {
				t.Fatal(err)
			}
			n := brokertest.Sample(1)
			id, _, err := b.Publish(ctx, "u-1", "m-1", n)
			if err != nil {
				t.Fatal(err)
			}
			if _, dup, err := b.Publish(ctx, "u-1", "m-1", n); err != nil || !dup {
				t.Fatalf("redelivery: dup %v, err %v", dup, err)
			}
			entries, err := rdb.XRange(ctx, names.PushQueue(), "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			if !on {
				if len(entries) != 0 {
					t.Fatalf("%d entries queued with EnqueuePush off", len(entries))
				}
				return
			}
			if len(entries) != 1 {
				t.Fatalf("%d entries queued; want 1 (the redelivery must not queue again)", len(entries))
			}
			body, _ := n.Body()
			want := string(notification.WithID(id, body))
			v := entries[0].Values
			if v[rediskey.PushFieldUser] != "u-1" || v[rediskey.PushFieldNotification] != want {
				t.Fatalf("queued %v; want user u-1 and n %s", v, want)
			}
		})
	}
}

// TestPublishEnqueuesGroupPush: a group's and the broadcast log's notifications are
// queued once each under their source name, for the push worker to fan out.
func TestPublishEnqueuesGroupPush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, err := redisbroker.NewClient(config.Redis{Addr: server.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	names := rediskey.Names{Prefix: fmt.Sprintf("t%d", prefix.Add(1))}
	b, err := redisbroker.New(rdb, names, broker.DefaultLimits, redisbroker.Options{PingInterval: 100 * time.Millisecond, EnqueuePush: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, src := range []string{broker.GroupSource("class-7b"), broker.Everyone} {
		n := brokertest.Sample(i + 1)
		id, _, err := b.Publish(ctx, src, "m-g", n)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup, err := b.Publish(ctx, src, "m-g", n); err != nil || !dup {
			t.Fatalf("redelivery: dup %v, err %v", dup, err)
		}
		entries, err := rdb.XRange(ctx, names.PushQueue(), "-", "+").Result()
		if err != nil || len(entries) != i+1 {
			t.Fatalf("%d entries after %s (%v), want %d", len(entries), src, err, i+1)
		}
		body, _ := n.Body()
		v := entries[i].Values
		if v[rediskey.PushFieldUser] != src || v[rediskey.PushFieldNotification] != string(notification.WithID(id, body)) {
			t.Fatalf("queued %v for %s", v, src)
		}
	}
}
