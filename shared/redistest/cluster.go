package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a running Redis Cluster of three masters with one replica each, every node
// a private redis-server on a loopback port with its own directory. Its nodes keep their
// ports for the cluster's life: a killed node comes back on the same one (Restart).
//
// Tests that only read and write may share one cluster per test binary (ClusterMain)
// under per-test key prefixes (Prefix); tests that kill nodes should start their own.
// Methods are safe for concurrent use; each bounds its wait by opTimeout.
type Cluster struct {
	// Seeds are the addresses of all six nodes as started; any of them seeds a client.
	Seeds []string
	nodes []*clusterNode
}

// ClusterOptions tune a cluster.
type ClusterOptions struct {
	// NodeTimeout is cluster-node-timeout: how long a master may be unreachable before
	// the others mark it failed and its replica takes over. Zero means 2s: failover
	// then takes about 3 s, and a master stalled by a busy test machine for under 2 s is
	// not failed over by mistake.
	NodeTimeout time.Duration
}

// opTimeout bounds every wait of a Cluster method (start, failover, migration).
const opTimeout = 60 * time.Second

const clusterSize = 6 // 3 masters + 3 replicas

// StartCluster runs a cluster for tb and stops it at cleanup.
func StartCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	c, err := StartClusterProcess(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// StartClusterProcess runs a cluster whose files live in dir; the caller must Stop it.
// It returns once every node reports cluster_state:ok, all agree on the slot map and
// every replica is in sync. The nodes start in parallel.
func StartClusterProcess(dir string, opts ClusterOptions) (*Cluster, error) {
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found: the cluster tests need a real Redis "+
				"(Debian: apt-get install -y redis-server, which brings redis-cli; `make test` does this for you)", bin)
		}
	}
	if opts.NodeTimeout == 0 {
		opts.NodeTimeout = 2 * time.Second
	}
	c := &Cluster{}
	root := filepath.Join(dir, "cluster-"+strconv.FormatInt(seq.Add(1), 10))
	for i := range clusterSize {
		c.nodes = append(c.nodes, &clusterNode{dir: filepath.Join(root, "node-"+strconv.Itoa(i)), timeout: opts.NodeTimeout})
	}
	errs := make([]error, clusterSize)
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() { errs[i] = n.startFresh() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Stop()
		return nil, err
	}
	for _, n := range c.nodes {
		c.Seeds = append(c.Seeds, n.addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Seeds...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	cmd := exec.CommandContext(ctx, "redis-cli", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := c.Wait(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Stop kills every node and waits for them to exit.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		n.stop()
		if n.admin != nil {
			_ = n.admin.Close()
		}
	}
}

// Client returns a cluster client seeded with every node, closed at tb's cleanup. It has
// go-redis' defaults: after a failover it keeps sending the dead master's slots to the
// dead master until ReloadState or its periodic reload (docs/CLUSTER-NOTES.md).
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Prefix returns a key prefix no other caller in this process gets, so tests sharing a
// cluster keep to their own keys. Put it outside any hash tag: it must not decide slots.
func (c *Cluster) Prefix() string {
	return "t" + strconv.FormatInt(seq.Add(1), 10)
}

// ClusterMain is a TestMain body for packages that share one private cluster, like
// Main for one server: os.Exit(redistest.ClusterMain(m, func(c *redistest.Cluster) {
// cluster = c })).
func ClusterMain(m *testing.M, set func(*Cluster)) int {
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	c, err := StartClusterProcess(dir, ClusterOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Stop()
	set(c)
	return m.Run()
}

// clusterNode is one redis-server process of a cluster. Its directory holds nodes.conf,
// so a restarted node keeps its identity and rejoins.
type clusterNode struct {
	dir     string
	timeout time.Duration
	addr    string
	port    int
	admin   *redis.Client // for the launcher's own commands; set once the port is final

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// startFresh picks a port whose cluster bus port (port+10000) is free too and starts
// the node there, trying other ports when the one picked was taken in between.
func (n *clusterNode) startFresh() error {
	var err error
	for range 3 {
		if n.port, err = freeClusterPort(); err != nil {
			return err
		}
		n.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port))
		_ = os.RemoveAll(n.dir) // a failed attempt may have written a nodes.conf
		if err = os.MkdirAll(n.dir, 0o755); err != nil {
			return err
		}
		if err = n.start(); err == nil {
			n.admin = redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1,
				DialTimeout: time.Second, ReadTimeout: 5 * time.Second, PoolSize: 4})
			return nil
		}
	}
	return err
}

// start runs redis-server on n.port and waits for it to answer PING.
func (n *clusterNode) start() error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(n.port), "--bind", "127.0.0.1",
		"--dir", n.dir, "--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(n.dir, "redis.log"),
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", strconv.FormatInt(n.timeout.Milliseconds(), 10),
		// A replica may always take over, however long the busy test machine kept it
		// from its master; and replicas stay where they were put.
		"--cluster-replica-validity-factor", "0", "--cluster-allow-replica-migration", "no",
		// Full syncs start at once instead of after the default 5 s of waiting for
		// more replicas, and go straight from socket to memory: no dump.rdb is left
		// for a restarted node to load, so it comes back empty, like a crashed
		// node without persistence, and resyncs.
		"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		"--repl-diskless-load", "on-empty-db")
	// Killed with the test binary if that dies first (a panic, a timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
	deadline := time.After(10 * time.Second)
	for ping(n.addr) != nil {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start: %s", n.addr, n.logTail())
		case <-deadline:
			n.stop()
			return fmt.Errorf("redis-server on %s did not answer PING within 10s", n.addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// stop SIGKILLs the node, as a crash would, and waits for it to exit.
func (n *clusterNode) stop() {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (n *clusterNode) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// logTail returns the end of the node's log, for errors.
func (n *clusterNode) logTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

// freeClusterPort returns a free loopback port whose cluster bus port, 10000 above it,
// is free as well.
func freeClusterPort() (int, error) {
	for range 100 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if p+10000 > 65535 {
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+10000))); err == nil {
			_ = l.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port pair (port, port+10000) on 127.0.0.1")
}
