package redistest

import (
	"fmt"
	"strconv"
	"strings"
)

// nodeLine is one line of CLUSTER NODES:
// <id> <ip:port@cport[,hostname]> <flags> <master-id|-> <ping-sent> <pong-recv>
// <config-epoch> <link-state> <slot-or-range>...
type nodeLine struct {
	id, addr string
	flags    nodeFlags
	myself   bool
	master   bool
	masterID string // "" for a master
	slots    []SlotRange
	// migrating is set when the line lists a slot being migrated or imported
	// ("[slot->-id]" or "[slot-<-id]"); only a node's own line shows these.
	migrating bool
}

// nodeFlags are the comma-separated flags of a line (myself, master, slave, fail?, …).
type nodeFlags []string

// unhealthy names the first flag that says the node is not a working member, or "".
func (f nodeFlags) unhealthy() string {
	for _, fl := range f {
		switch fl {
		case "fail", "fail?", "handshake", "noaddr":
			return fl
		}
	}
	return ""
}

// parseClusterNodes parses the reply of CLUSTER NODES.
func parseClusterNodes(text string) ([]nodeLine, error) {
	var out []nodeLine
	for raw := range strings.SplitSeq(text, "\n") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		f := strings.Fields(raw)
		if len(f) < 8 {
			return nil, fmt.Errorf("cluster nodes: short line %q", raw)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		addr, _, _ = strings.Cut(addr, ",")
		l := nodeLine{id: f[0], addr: addr, flags: strings.Split(f[2], ",")}
		for _, fl := range l.flags {
			switch fl {
			case "myself":
				l.myself = true
			case "master":
				l.master = true
			}
		}
		if f[3] != "-" {
			l.masterID = f[3]
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				l.migrating = true
				continue
			}
			first, last, isRange := strings.Cut(s, "-")
			if !isRange {
				last = first
			}
			a, errA := strconv.Atoi(first)
			b, errB := strconv.Atoi(last)
			if errA != nil || errB != nil || a < 0 || b < a || b > 16383 {
				return nil, fmt.Errorf("cluster nodes: bad slot %q in line %q", s, raw)
			}
			l.slots = append(l.slots, SlotRange{a, b})
		}
		out = append(out, l)
	}
	return out, nil
}
