package rooms

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestRedisFanout: a frame published by one instance reaches another's subscription,
// on one server (PUBLISH) and on a real cluster (SPUBLISH on the room's shard), for
// rooms on different slots; after Unsubscribe nothing more arrives.
func TestRedisFanout(t *testing.T) {
	t.Parallel()
	single := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { single.Close() })
	cluster := redistest.StartCluster(t, redistest.ClusterOptions{})
	for name, rdb := range map[string]redis.UniversalClient{"redis": single, "cluster": cluster.Client(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			prefix := fmt.Sprint("rf", prefixes.Add(1))
			got := make(chan string, 16)
			sub := NewRedisFanout(rdb, prefix)
			sub.SetDeliver(func(room string, frame []byte) { got <- room + " " + string(frame) })
			defer sub.Close()
			pub := NewRedisFanout(rdb, prefix)
			for i := range 3 {
				room := fmt.Sprint("class-", i)
				if err := sub.Subscribe(ctx, room); err != nil {
					t.Fatal(err)
				}
				if err := pub.Publish(ctx, room, []byte(`{"op":"x"}`)); err != nil {
					t.Fatal(err)
				}
				select {
				case g := <-got:
					if g != room+` {"op":"x"}` {
						t.Fatalf("got %q", g)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("nothing arrived in %s", room)
				}
				_ = sub.Unsubscribe(ctx, room)
				_ = pub.Publish(ctx, room, []byte(`{"op":"late"}`))
			}
			select {
			case g := <-got:
				t.Fatalf("after Unsubscribe: %q", g)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}
