package redistest

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// node returns the process at addr.
func (c *Cluster) node(addr string) (*clusterNode, error) {
	for _, n := range c.nodes {
		if n.addr == addr {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no node of this cluster listens on %s", addr)
}

// Kill SIGKILLs the node at addr, as a crash would, and returns at once: the cluster
// notices after NodeTimeout. Its data is gone (no persistence); Restart brings it back.
func (c *Cluster) Kill(addr string) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	n.stop()
	return nil
}

// KillMaster SIGKILLs the master at addr and returns the address of its replica once
// that replica has been promoted and the cluster has settled again (see Wait). What
// the replica had received before the kill is what the new master holds.
func (c *Cluster) KillMaster(ctx context.Context, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if _, err := c.node(addr); err != nil {
		return "", err
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return "", err
	}
	var replica *clusterNode
	for _, n := range nodes {
		if n.Addr == addr && !n.Master {
			return "", fmt.Errorf("kill master: %s is a replica", addr)
		}
		if n.MasterAddr == addr && n.Running {
			if replica, err = c.node(n.Addr); err != nil {
				return "", err
			}
		}
	}
	if replica == nil {
		return "", fmt.Errorf("kill master: %s has no running replica to take over", addr)
	}
	if err := c.Kill(addr); err != nil {
		return "", err
	}
	for {
		repl, err := replica.admin.Info(ctx, "replication").Result()
		if err == nil && field(repl, "role") == "master" {
			break
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("kill master %s: replica %s not promoted: %w", addr, replica.addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return replica.addr, c.Wait(ctx)
}

// Restart starts the node at addr again on its port (killing it first if it runs) and
// waits until the cluster has settled. It rejoins under its old identity: a master
// whose replica was promoted meanwhile comes back as that replica's replica. A master
// restarted before any failover comes back empty and its replica resyncs from it, as
// with a real master that crashed without persistence.
func (c *Cluster) Restart(ctx context.Context, addr string) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	n.stop()
	if err := n.start(); err != nil {
		return err
	}
	return c.Wait(ctx)
}

// Migration moves one hash slot from its master to another, step by step, as
// `redis-cli --cluster reshard` does (which cannot be told which slot): IMPORTING on
// the destination, MIGRATING on the source, MIGRATE of the keys, then SETSLOT NODE.
// Between BeginMigration and Finish, clients see ASK redirections for keys already
// moved (and for new keys) and TRYAGAIN for multi-key commands over both sides.
type Migration struct {
	c        *Cluster
	slot     int
	src, dst *clusterNode
	dstID    string
}

// MigrateSlot moves slot to the master at to and waits until every node agrees.
func (c *Cluster) MigrateSlot(ctx context.Context, slot int, to string) error {
	m, err := c.BeginMigration(ctx, slot, to)
	if err != nil {
		return err
	}
	return m.Finish(ctx)
}

// BeginMigration puts slot in migration from its master to the master at to; no key
// has moved yet.
func (c *Cluster) BeginMigration(ctx context.Context, slot int, to string) (*Migration, error) {
	from, err := c.MasterOf(ctx, slot)
	if err != nil {
		return nil, err
	}
	if from.Addr == to {
		return nil, fmt.Errorf("migrate slot %d: %s serves it already", slot, to)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	m := &Migration{c: c, slot: slot}
	for _, n := range nodes {
		if n.Addr == to && n.Master && n.Running {
			m.dstID = n.ID
		}
	}
	if m.dstID == "" {
		return nil, fmt.Errorf("migrate slot %d: %s is not a running master", slot, to)
	}
	if m.src, err = c.node(from.Addr); err != nil {
		return nil, err
	}
	if m.dst, err = c.node(to); err != nil {
		return nil, err
	}
	// Importing first, so the destination accepts the ASKs the source starts sending.
	if err := m.dst.admin.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", from.ID).Err(); err != nil {
		return nil, fmt.Errorf("setslot %d importing on %s: %w", slot, to, err)
	}
	if err := m.src.admin.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", m.dstID).Err(); err != nil {
		return nil, fmt.Errorf("setslot %d migrating on %s: %w", slot, from.Addr, err)
	}
	return m, nil
}

// MoveKeys migrates up to max keys of the slot to the destination and returns how
// many it moved (0: none left on the source).
func (m *Migration) MoveKeys(ctx context.Context, max int) (int, error) {
	keys, err := m.src.admin.ClusterGetKeysInSlot(ctx, m.slot, max).Result()
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	host, port, _ := net.SplitHostPort(m.dst.addr)
	args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
	for _, k := range keys {
		args = append(args, k)
	}
	if err := m.src.admin.Do(ctx, args...).Err(); err != nil {
		return 0, fmt.Errorf("migrate %d keys of slot %d: %w", len(keys), m.slot, err)
	}
	return len(keys), nil
}

// Finish moves the keys left, gives the slot to the destination (on the destination
// first, then the source, then the other masters, as the reshard tool does) and waits
// until the cluster has settled.
func (m *Migration) Finish(ctx context.Context) error {
	for {
		n, err := m.MoveKeys(ctx, 100)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	targets := []*redis.Client{m.dst.admin, m.src.admin}
	nodes, err := m.c.Nodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Master && n.Running && n.Addr != m.src.addr && n.Addr != m.dst.addr {
			other, err := m.c.node(n.Addr)
			if err != nil {
				return err
			}
			targets = append(targets, other.admin)
		}
	}
	for _, rdb := range targets {
		if err := rdb.Do(ctx, "CLUSTER", "SETSLOT", m.slot, "NODE", m.dstID).Err(); err != nil {
			return fmt.Errorf("setslot %d node on %s: %w", m.slot, rdb.Options().Addr, err)
		}
	}
	return m.c.Wait(ctx)
}
