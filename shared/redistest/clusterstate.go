package redistest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Node is one node of a cluster as the cluster sees it at the time of the call.
type Node struct {
	Addr string
	ID   string
	// Master is false for a replica.
	Master bool
	// MasterAddr is the master a replica follows; empty for a master.
	MasterAddr string
	// Slots are the hash slots a master serves, as inclusive ranges.
	Slots []SlotRange
	// Running is false from Kill until Restart.
	Running bool
}

// SlotRange is an inclusive range of hash slots.
type SlotRange struct{ First, Last int }

// Serves reports whether n serves slot.
func (n Node) Serves(slot int) bool {
	return slices.ContainsFunc(n.Slots, func(r SlotRange) bool { return r.First <= slot && slot <= r.Last })
}

// Nodes returns every node, masters first, as a running node sees them. Call Wait first
// for a view every node agrees on.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	var lastErr error = errors.New("no node is running")
	for _, n := range c.nodes {
		if !n.running() {
			continue
		}
		text, err := n.admin.ClusterNodes(ctx).Result()
		if err != nil {
			lastErr = err
			continue
		}
		lines, err := parseClusterNodes(text)
		if err != nil {
			return nil, err
		}
		addrOf := map[string]string{}
		for _, l := range lines {
			addrOf[l.id] = l.addr
		}
		var out []Node
		for _, l := range lines {
			node := Node{Addr: l.addr, ID: l.id, Master: l.master, MasterAddr: addrOf[l.masterID], Slots: l.slots}
			if i := slices.IndexFunc(c.nodes, func(cn *clusterNode) bool { return cn.addr == l.addr }); i >= 0 {
				node.Running = c.nodes[i].running()
			}
			out = append(out, node)
		}
		slices.SortFunc(out, func(a, b Node) int {
			if a.Master != b.Master {
				if a.Master {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Addr, b.Addr)
		})
		return out, nil
	}
	return nil, fmt.Errorf("cluster nodes: %w", lastErr)
}

// MasterOf returns the master serving slot.
func (c *Cluster) MasterOf(ctx context.Context, slot int) (Node, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Node{}, err
	}
	for _, n := range nodes {
		if n.Master && n.Serves(slot) {
			return n, nil
		}
	}
	return Node{}, fmt.Errorf("no master serves slot %d", slot)
}

// Slot returns the hash slot of key, as the cluster computes it (CLUSTER KEYSLOT).
func (c *Cluster) Slot(ctx context.Context, key string) (int, error) {
	for _, n := range c.nodes {
		if n.running() {
			s, err := n.admin.ClusterKeySlot(ctx, key).Result()
			return int(s), err
		}
	}
	return 0, errors.New("cluster keyslot: no node is running")
}

// Wait returns once the cluster is settled: every running node reports
// cluster_state:ok, all of them agree on every running node's role and slots, the
// running masters serve all 16384 slots, no slot is half migrated, and every running
// replica is in sync with its master. It gives up after opTimeout.
func (c *Cluster) Wait(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	for {
		err := c.settled(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not settled: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// settled returns nil when the cluster is settled (see Wait), or what is not yet.
func (c *Cluster) settled(ctx context.Context) error {
	running := map[string]bool{}
	for _, n := range c.nodes {
		if n.running() {
			running[n.addr] = true
		}
	}
	var first string
	for _, n := range c.nodes {
		if !running[n.addr] {
			continue
		}
		info, err := n.admin.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: cluster info: %w", n.addr, err)
		}
		if field(info, "cluster_state") != "ok" {
			return fmt.Errorf("%s: cluster_state:%s", n.addr, field(info, "cluster_state"))
		}
		text, err := n.admin.ClusterNodes(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: cluster nodes: %w", n.addr, err)
		}
		view, replica, err := canonicalView(text, running)
		if err != nil {
			return fmt.Errorf("%s: %w", n.addr, err)
		}
		if first == "" {
			first = view
		} else if view != first {
			return fmt.Errorf("%s sees\n%s\nanother node sees\n%s", n.addr, view, first)
		}
		if replica {
			repl, err := n.admin.Info(ctx, "replication").Result()
			if err != nil {
				return fmt.Errorf("%s: info replication: %w", n.addr, err)
			}
			if field(repl, "master_link_status") != "up" || field(repl, "master_sync_in_progress") != "0" {
				return fmt.Errorf("%s: replica not in sync (master_link_status:%s master_sync_in_progress:%s)",
					n.addr, field(repl, "master_link_status"), field(repl, "master_sync_in_progress"))
			}
		}
	}
	return nil
}

// canonicalView renders what CLUSTER NODES text says about the running nodes, one
// line per node without volatile fields, so two nodes' views compare as strings. It
// fails when a running node is flagged failed or unreachable, when a slot is being
// migrated, or when the running masters leave a slot unserved. replica reports whether
// the node that wrote text is a replica.
func canonicalView(text string, running map[string]bool) (view string, replica bool, err error) {
	lines, err := parseClusterNodes(text)
	if err != nil {
		return "", false, err
	}
	addrOf := map[string]string{}
	for _, l := range lines {
		addrOf[l.id] = l.addr
	}
	var out []string
	served := 0
	for _, l := range lines {
		if l.myself {
			replica = !l.master
		}
		if !running[l.addr] {
			continue
		}
		if bad := l.flags.unhealthy(); bad != "" {
			return "", false, fmt.Errorf("node %s is flagged %s", l.addr, bad)
		}
		if l.migrating {
			return "", false, fmt.Errorf("node %s has a slot in migration", l.addr)
		}
		if !l.master {
			out = append(out, l.addr+" replica of "+addrOf[l.masterID])
			continue
		}
		var ranges []string
		for _, r := range l.slots {
			served += r.Last - r.First + 1
			ranges = append(ranges, strconv.Itoa(r.First)+"-"+strconv.Itoa(r.Last))
		}
		out = append(out, l.addr+" master "+strings.Join(ranges, ","))
	}
	if served != 16384 {
		return "", false, fmt.Errorf("the running masters serve %d of 16384 slots", served)
	}
	slices.Sort(out)
	return strings.Join(out, "\n"), replica, nil
}

// field returns the value of "name:value" in an INFO-style reply.
func field(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
