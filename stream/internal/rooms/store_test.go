package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

var (
	redisSrv *redistest.Server
	prefixes atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(redistest.Main(m, func(s *redistest.Server) { redisSrv = s }))
}

// stores are every Store the contract must hold for: memory, one Redis server, and a
// real 3+3 Redis Cluster (every room's keys share one hash tag).
func stores(t *testing.T) map[string]Store {
	single := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { single.Close() })
	cluster := redistest.StartCluster(t, redistest.ClusterOptions{})
	return map[string]Store{
		"memory":  NewMemory(time.Now),
		"redis":   NewRedis(single, fmt.Sprint("rm", prefixes.Add(1)), time.Now),
		"cluster": NewRedis(cluster.Client(t), cluster.Prefix(), time.Now),
	}
}

func TestStoreContract(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := range 3 { // rooms land on different slots in the cluster
				room := fmt.Sprint("class-", i)
				msgs, newest, err := s.Recent(ctx, room, 50)
				if err != nil || len(msgs) != 0 || newest != "0-0" {
					t.Fatalf("empty room: %v %q %v", msgs, newest, err)
				}
				var ids []string
				for j := range 5 {
					m, err := s.Append(ctx, room, Message{User: "u-1", Text: fmt.Sprint("m", j), ClientID: "c"})
					if err != nil {
						t.Fatal(err)
					}
					if len(ids) > 0 && !after(m.ID, ids[len(ids)-1]) {
						t.Fatalf("id %s does not grow", m.ID)
					}
					ids = append(ids, m.ID)
				}
				msgs, newest, _ = s.Recent(ctx, room, 3)
				if len(msgs) != 3 || msgs[0].Text != "m2" || msgs[2].ID != newest || newest != ids[4] || msgs[2].User != "u-1" || msgs[2].ClientID != "c" {
					t.Fatalf("Recent = %+v %s", msgs, newest)
				}
				got, err := s.After(ctx, room, ids[1])
				if err != nil || len(got) != 3 || got[0].ID != ids[2] {
					t.Fatalf("After = %+v, %v", got, err)
				}
				for _, bad := range []string{"x", "99999999999999-0"} {
					if _, err := s.After(ctx, room, bad); !errors.Is(err, ErrReset) {
						t.Fatalf("After(%s) = %v, want ErrReset", bad, err)
					}
				}

				st, err := s.SetState(ctx, room, State{State: json.RawMessage(`{"t":1}`), Version: 0, By: "t-1"})
				if err != nil || st.Version != 1 {
					t.Fatalf("SetState = %+v, %v", st, err)
				}
				cur, err := s.SetState(ctx, room, State{State: json.RawMessage(`{"t":2}`), Version: 0, By: "t-1"})
				if !errors.Is(err, ErrConflict) || cur.Version != 1 || string(cur.State) != `{"t":1}` {
					t.Fatalf("stale SetState = %+v, %v", cur, err)
				}
				if st, _ := s.State(ctx, room); st.Version != 1 || st.By != "t-1" || string(st.State) != `{"t":1}` {
					t.Fatalf("State = %+v", st)
				}

				_ = s.Join(ctx, room, "i/1", Member{User: "s-1"})
				_ = s.Join(ctx, room, "i/2", Member{User: "t-1", Teacher: true})
				_ = s.Join(ctx, room, "j/1", Member{User: "s-1"})
				if ms, _ := s.Members(ctx, room); fmt.Sprint(ms) != "[{s-1 false} {t-1 true}]" {
					t.Fatalf("Members = %v", ms)
				}
				_ = s.Leave(ctx, room, "i/1")
				if ms, _ := s.Members(ctx, room); len(ms) != 2 {
					t.Fatalf("s-1 still has a socket: %v", ms)
				}
				_ = s.Leave(ctx, room, "j/1")
				if ms, _ := s.Members(ctx, room); fmt.Sprint(ms) != "[{t-1 true}]" {
					t.Fatalf("after leaving: %v", ms)
				}
			}
		})
	}
}

// TestRedisLeaseExpires: a lease not refreshed (its instance died) leaves the list.
func TestRedisLeaseExpires(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	t.Cleanup(func() { rdb.Close() })
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	s := NewRedis(rdb, fmt.Sprint("rm", prefixes.Add(1)), func() time.Time { return time.Unix(0, clock.Load()) })
	ctx := context.Background()
	_ = s.Join(ctx, "r", "dead/1", Member{User: "s-1"})
	clock.Add(int64(LeaseTTL + time.Second))
	if ms, err := s.Members(ctx, "r"); err != nil || len(ms) != 0 {
		t.Fatalf("Members past the lease = %v, %v", ms, err)
	}
}
