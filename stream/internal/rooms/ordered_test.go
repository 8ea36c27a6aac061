package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestAppendPublishInIDOrder: senders racing on one room (as on several instances)
// still publish message frames in id order, each frame the one messageFrame writes for
// the stored message (created_at included) — for memory, one Redis and a real cluster.
func TestAppendPublishInIDOrder(t *testing.T) {
	t.Parallel()
	type pair struct {
		store OrderedAppender
		sub   func(deliver func(room string, frame []byte))
	}
	single := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { single.Close() })
	cluster := redistest.StartCluster(t, redistest.ClusterOptions{})
	redisPair := func(rdb redis.UniversalClient, prefix string) pair {
		f := NewRedisFanout(rdb, prefix)
		t.Cleanup(f.Close)
		return pair{NewRedis(rdb, prefix, time.Now), func(fn func(string, []byte)) {
			f.SetDeliver(fn)
			if err := f.Subscribe(context.Background(), "race"); err != nil {
				t.Fatal(err)
			}
		}}
	}
	mem := NewMemory(time.Now)
	pairs := map[string]pair{
		"memory":  {mem, mem.SetDeliver},
		"redis":   redisPair(single, fmt.Sprint("ro", prefixes.Add(1))),
		"cluster": redisPair(cluster.Client(t), cluster.Prefix()),
	}
	for name, p := range pairs {
		t.Run(name, func(t *testing.T) {
			const senders, each = 8, 25
			var mu sync.Mutex
			var frames [][]byte
			got := make(chan struct{})
			p.sub(func(_ string, f []byte) {
				mu.Lock()
				defer mu.Unlock()
				if frames = append(frames, f); len(frames) == senders*each {
					close(got)
				}
			})
			stored := map[string]Message{}
			var wg sync.WaitGroup
			for s := range senders {
				wg.Go(func() {
					for i := range each {
						m, err := p.store.AppendPublish(context.Background(), "race",
							Message{User: fmt.Sprint("u-", s), Text: fmt.Sprintf("<%d> \"%d\"", s, i), ClientID: fmt.Sprint(s, "-", i)})
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						stored[m.ID] = m
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d frames delivered", len(frames), senders*each)
			}
			mu.Lock()
			defer mu.Unlock()
			last := ""
			for _, f := range frames {
				var live, want map[string]any
				_ = json.Unmarshal(f, &live)
				id, _ := live["id"].(string)
				if last != "" && !after(id, last) {
					t.Fatalf("frame %s published after %s", id, last)
				}
				last = id
				_ = json.Unmarshal(messageFrame(stored[id]), &want)
				if diff := cmp.Diff(want, live); diff != "" {
					t.Fatalf("frame of %s (-messageFrame +published):\n%s", id, diff)
				}
			}
		})
	}
}
