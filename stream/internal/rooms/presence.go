package rooms

import (
	"context"
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
		asOf := time.Now()
		ms, err := h.store.Members(ctx, r)
		if err != nil {
			continue
		}
		h.reconcile(r, ms, asOf)
	}
}

// knownMember is what a room's sockets here were last told of a user, and when.
type knownMember struct {
	Member
	present bool
	at      time.Time
}

// reconcile tells this instance's sockets of room about members that came or went
// without a frame reaching it (an instance that died says nothing). ms is the store's
// list as read from asOf on: a join or leave delivered after asOf is newer than the
// list and stands (else a socket's welcome racing a join would announce a spurious
// leave, and a join storm would flap every list).
func (h *Hub) reconcile(room string, ms []Member, asOf time.Time) {
	now := map[string]Member{}
	for _, m := range ms {
		now[m.User] = m
	}
	h.mu.Lock()
	known := h.known[room]
	var frames [][]byte
	for u, k := range known {
		if _, ok := now[u]; !ok && k.present && k.at.Before(asOf) {
			frames = append(frames, presenceFrame("leave", k.Member))
		}
	}
	for u, m := range now {
		if k, ok := known[u]; !ok || (!k.present && k.at.Before(asOf)) {
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
func (h *Hub) track(room string, f *head) bool {
	if f.Op != "join" && f.Op != "leave" {
		return true
	}
	known := h.known[room]
	if known == nil {
		known = map[string]knownMember{}
		h.known[room] = known
	}
	old := known[f.User]
	m := Member{User: f.User, Teacher: f.Teacher}
	if f.Op == "join" {
		known[f.User] = knownMember{Member: m, present: true, at: time.Now()}
		return !old.present || old.Teacher != f.Teacher // a user's second socket is no news
	}
	known[f.User] = knownMember{Member: old.Member, at: time.Now()} // kept: a later list must not revive it
	return old.present
}

func leaseOf(j Join) lease { return lease{room: j.Room, member: j.Member} }
