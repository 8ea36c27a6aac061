package rooms

import (
	"context"
	"encoding/json"
	"time"
)

// RefreshEvery is how often this instance renews its sockets' leases and compares
// each room's members with what its sockets were told: a member whose instance died
// leaves within LeaseTTL + RefreshEvery (26 s, under the contract's 30 s).
const RefreshEvery = 6 * time.Second

type lease struct {
	room   string
	member Member
}

// Run renews leases and reconciles presence until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	t := time.NewTicker(RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.refresh(ctx)
	}
}

func (h *Hub) refresh(ctx context.Context) {
	h.mu.Lock()
	leases := make(map[string]lease, len(h.leases))
	for id, l := range h.leases {
		leases[id] = l
	}
	rooms := make([]string, 0, len(h.rooms))
	for r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, RefreshEvery)
	defer cancel()
	for id, l := range leases {
		if err := h.store.Join(ctx, l.room, id, l.member); err != nil {
			h.log.WarnContext(ctx, "room lease refresh failed", "room", l.room, "error", err.Error())
		}
	}
	for _, r := range rooms {
		ms, err := h.store.Members(ctx, r)
		if err != nil {
			continue
		}
		h.reconcile(r, ms)
	}
}

// reconcile tells this instance's sockets of room about members that came or went
// without a frame reaching it (an instance that died says nothing).
func (h *Hub) reconcile(room string, ms []Member) {
	now := map[string]Member{}
	for _, m := range ms {
		now[m.User] = m
	}
	h.mu.Lock()
	known := h.known[room]
	var frames [][]byte
	for u, m := range known {
		if _, ok := now[u]; !ok {
			frames = append(frames, presenceFrame("leave", m))
		}
	}
	for u, m := range now {
		if _, ok := known[u]; !ok {
			frames = append(frames, presenceFrame("join", m))
		}
	}
	h.mu.Unlock()
	for _, f := range frames {
		h.Deliver(room, f)
	}
}

// track keeps h.known[room] in step with the join and leave frames delivered; called
// with h.mu held. It reports whether the frame tells the sockets something new.
func (h *Hub) track(room string, frame []byte) bool {
	var f struct {
		Op      string `json:"op"`
		User    string `json:"user"`
		Teacher bool   `json:"teacher"`
	}
	if json.Unmarshal(frame, &f) != nil || (f.Op != "join" && f.Op != "leave") {
		return true
	}
	known := h.known[room]
	if known == nil {
		known = map[string]Member{}
		h.known[room] = known
	}
	old, had := known[f.User]
	if f.Op == "join" {
		known[f.User] = Member{User: f.User, Teacher: f.Teacher}
		return !had || old.Teacher != f.Teacher // a user's second socket is no news
	}
	delete(known, f.User)
	return had
}

func leaseOf(j Join) lease { return lease{room: j.Room, member: j.Member} }
