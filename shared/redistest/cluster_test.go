package redistest_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestCluster runs the launcher's operations in order on one cluster: starting one is
// the slow part. Kill comes last because it changes who is master.
func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	rdb := c.Client(t)

	t.Run("topology", func(t *testing.T) {
		nodes, err := c.Nodes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		masters, served := map[string]bool{}, 0
		for _, n := range nodes {
			if n.Master {
				masters[n.Addr] = true
				for _, r := range n.Slots {
					served += r.Last - r.First + 1
				}
			}
		}
		for _, n := range nodes {
			if n.Master {
				continue
			}
			if !masters[n.MasterAddr] {
				t.Errorf("replica %s follows %q, not a master", n.Addr, n.MasterAddr)
			}
			// StartCluster returns only once every replica holds its master's data.
			r := redis.NewClient(&redis.Options{Addr: n.Addr})
			info, err := r.Info(t.Context(), "replication").Result()
			r.Close()
			if err != nil || !strings.Contains(info, "master_link_status:up") || !strings.Contains(info, "master_sync_in_progress:0") {
				t.Errorf("replica %s not in sync: %v\n%s", n.Addr, err, info)
			}
		}
		if len(nodes) != 6 || len(masters) != 3 || served != 16384 {
			t.Fatalf("got %d nodes, %d masters serving %d slots; want 6, 3, 16384: %+v", len(nodes), len(masters), served, nodes)
		}
	})

	t.Run("keys spread over the masters and read back", func(t *testing.T) {
		p := c.Prefix()
		owners := map[string]bool{}
		for i := range 30 {
			key := fmt.Sprintf("%s:{k%d}", p, i)
			if err := rdb.Set(t.Context(), key, i, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if got, err := rdb.Get(t.Context(), key).Int(); err != nil || got != i {
				t.Fatalf("get %s = %d, %v; want %d", key, got, err, i)
			}
			owners[masterOfKey(t, c, key).Addr] = true
		}
		if len(owners) != 3 {
			t.Errorf("30 keys landed on %d masters, want 3", len(owners))
		}
	})

	t.Run("migrating a key's slot moves the key and the client follows MOVED", func(t *testing.T) {
		key := c.Prefix() + ":{moved}"
		if err := rdb.Set(t.Context(), key, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		slot, err := c.Slot(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		from := masterOfKey(t, c, key)
		to := otherMaster(t, c, from.Addr)
		if err := c.MigrateSlot(t.Context(), slot, to); err != nil {
			t.Fatal(err)
		}
		if got := masterOfKey(t, c, key).Addr; got != to {
			t.Fatalf("slot %d served by %s after migrating it to %s", slot, got, to)
		}
		// The old master now redirects; the client, which cached it, must follow.
		old := redis.NewClient(&redis.Options{Addr: from.Addr})
		defer old.Close()
		if err := old.Get(t.Context(), key).Err(); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("MOVED %d %s", slot, to)) {
			t.Fatalf("old master answered %v, want MOVED %d %s", err, slot, to)
		}
		if got, err := rdb.Get(t.Context(), key).Result(); err != nil || got != "v" {
			t.Fatalf("get after migration = %q, %v", got, err)
		}
	})

	t.Run("mid-migration the source sends ASK for moved keys and the client follows", func(t *testing.T) {
		p := c.Prefix()
		moved, stays := p+":{ask}:a", p+":{ask}:b"
		for _, k := range []string{moved, stays} {
			if err := rdb.Set(t.Context(), k, k, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		slot, err := c.Slot(t.Context(), moved)
		if err != nil {
			t.Fatal(err)
		}
		from := masterOfKey(t, c, moved)
		m, err := c.BeginMigration(t.Context(), slot, otherMaster(t, c, from.Addr))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := m.MoveKeys(t.Context(), 1); err != nil || n != 1 {
			t.Fatalf("MoveKeys(1) = %d, %v", n, err)
		}
		src := redis.NewClient(&redis.Options{Addr: from.Addr})
		defer src.Close()
		gone, there := moved, stays
		if src.Exists(t.Context(), moved).Val() == 1 { // the source picked the other one
			gone, there = stays, moved
		}
		if err := src.Get(t.Context(), gone).Err(); err == nil || !strings.HasPrefix(err.Error(), "ASK ") {
			t.Fatalf("source answered %v for a moved key, want ASK", err)
		}
		for _, k := range []string{gone, there} {
			if got, err := rdb.Get(t.Context(), k).Result(); err != nil || got != k {
				t.Fatalf("get %s mid-migration = %q, %v", k, got, err)
			}
		}
		if err := m.Finish(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := rdb.MGet(t.Context(), moved, stays).Val(); len(got) != 2 || got[0] != moved || got[1] != stays {
			t.Fatalf("after the migration: %v", got)
		}
	})

	t.Run("a restarted replica is in sync when Restart returns", func(t *testing.T) {
		nodes, err := c.Nodes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var replica redistest.Node
		for _, n := range nodes {
			if !n.Master {
				replica = n
			}
		}
		// A master that waits 2 s before a full sync: Restart must wait it out.
		master := redis.NewClient(&redis.Options{Addr: replica.MasterAddr})
		defer master.Close()
		if err := master.ConfigSet(t.Context(), "repl-diskless-sync-delay", "2").Err(); err != nil {
			t.Fatal(err)
		}
		defer master.ConfigSet(t.Context(), "repl-diskless-sync-delay", "0")
		if err := c.Restart(t.Context(), replica.Addr); err != nil {
			t.Fatal(err)
		}
		r := redis.NewClient(&redis.Options{Addr: replica.Addr})
		defer r.Close()
		info, err := r.Info(t.Context(), "replication").Result()
		if err != nil || !strings.Contains(info, "master_link_status:up") || !strings.Contains(info, "master_sync_in_progress:0") {
			t.Fatalf("replica %s not in sync after Restart: %v\n%s", replica.Addr, err, info)
		}
	})

	t.Run("a killed master's replica takes over with its data, and the master rejoins", func(t *testing.T) {
		key := c.Prefix() + ":{kill}"
		if err := rdb.Set(t.Context(), key, "kept", 0).Err(); err != nil {
			t.Fatal(err)
		}
		master := masterOfKey(t, c, key)
		// Acknowledged by the replica before the kill, so the failover must keep it.
		node, err := rdb.MasterForKey(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := node.Wait(t.Context(), 1, 5*time.Second).Result(); err != nil || n != 1 {
			t.Fatalf("WAIT 1 = %d, %v", n, err)
		}
		var replica string
		nodes, _ := c.Nodes(t.Context())
		for _, n := range nodes {
			if n.MasterAddr == master.Addr {
				replica = n.Addr
			}
		}
		promoted, err := c.KillMaster(t.Context(), master.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if promoted != replica {
			t.Errorf("promoted %s, want %s, the replica of %s", promoted, replica, master.Addr)
		}
		if got := masterOfKey(t, c, key).Addr; got != promoted {
			t.Errorf("key served by %s after failover, want %s", got, promoted)
		}
		// A new client: go-redis v9.23 keeps routing the dead master's slots to it until
		// its periodic reload (docs/CLUSTER-NOTES.md), so rdb would fail here for a while.
		if got, err := c.Client(t).Get(t.Context(), key).Result(); err != nil || got != "kept" {
			t.Fatalf("get after failover = %q, %v", got, err)
		}
		if err := c.Restart(t.Context(), master.Addr); err != nil {
			t.Fatal(err)
		}
		nodes, err = c.Nodes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.Addr == master.Addr && (n.Master || n.MasterAddr != promoted || !n.Running) {
				t.Errorf("restarted old master: %+v, want a running replica of %s", n, promoted)
			}
		}
	})
}

// TestServersDieWithTheTestBinary: a test binary that dies without running its
// cleanups (a panic in another goroutine, a -timeout) takes its servers with it, a
// single one and a cluster's.
func TestServersDieWithTheTestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second cluster in a child test binary")
	}
	if os.Getenv("REDISTEST_DIE") != "" {
		s := redistest.Start(t, redistest.Options{})
		c := redistest.StartCluster(t, redistest.ClusterOptions{})
		fmt.Println("seeds:", s.Addr, strings.Join(c.Seeds, " "))
		go panic("dying without cleanups")
		select {}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServersDieWithTheTestBinary$")
	cmd.Env = append(os.Environ(), "REDISTEST_DIE=1")
	out, _ := cmd.CombinedOutput()
	_, after, ok := strings.Cut(string(out), "seeds: ")
	if !ok {
		t.Fatalf("the child printed no seeds:\n%s", out)
	}
	seeds := strings.Fields(strings.SplitN(after, "\n", 2)[0])
	if len(seeds) != 7 {
		t.Fatalf("the child printed %d seeds: %v", len(seeds), seeds)
	}
	for _, addr := range seeds {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				for _, a := range seeds { // leave no orphans behind, even failing
					rdb := redis.NewClient(&redis.Options{Addr: a})
					_ = rdb.ShutdownNoSave(t.Context()).Err()
					_ = rdb.Close()
				}
				t.Fatalf("redis-server %s still answers after its test binary died", addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestClusterNeedsRedisCLI: without redis-cli the launcher fails loudly with the install
// hint, never a silent skip.
func TestClusterNeedsRedisCLI(t *testing.T) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(server, bin+"/redis-server"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	_, err = redistest.StartClusterProcess(t.TempDir(), redistest.ClusterOptions{})
	if err == nil || !strings.Contains(err.Error(), "redis-cli not found") || !strings.Contains(err.Error(), "apt-get install") {
		t.Fatalf("StartClusterProcess without redis-cli = %v, want the install hint", err)
	}
}

func masterOfKey(t *testing.T, c *redistest.Cluster, key string) redistest.Node {
	t.Helper()
	slot, err := c.Slot(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.MasterOf(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// otherMaster returns a master that is not addr.
func otherMaster(t *testing.T, c *redistest.Cluster, addr string) string {
	t.Helper()
	nodes, err := c.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Master && n.Running && n.Addr != addr && len(n.Slots) > 0 {
			return n.Addr
		}
	}
	t.Fatal(errors.New("no other master"))
	return ""
}

// BenchmarkStartCluster measures what a test binary pays for its cluster: six nodes
// started, the cluster created, every replica in sync.
func BenchmarkStartCluster(b *testing.B) {
	for b.Loop() {
		c, err := redistest.StartClusterProcess(b.TempDir(), redistest.ClusterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		c.Stop()
	}
}
