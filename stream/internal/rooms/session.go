package rooms

import (
	"context"
	"errors"
	"time"

	"github.com/gorilla/websocket"
)

// Join is who joins which room, and from where.
type Join struct {
	Room    string
	Member  Member
	After   string // the resume point; "" for none
	Expires time.Time
	Drain   <-chan struct{} // closed when the instance drains
	Write   time.Duration   // bound on each write
	Done    func()          // called once the socket has ended; may be nil
}

// Serve admits a socket into its room — welcome written — on the caller's goroutine
// and returns; the socket then lives on a reader goroutine started fresh, the only
// goroutine an idle socket keeps (the caller's stack, grown by the upgrade, the token
// check and the welcome's Redis calls, is not kept). Frames go both ways until the
// client leaves, the token expires (4408), the instance drains (1001) or the socket
// is too slow (1013). c is closed and j.Done called when the socket ends.
func (h *Hub) Serve(ctx context.Context, c *websocket.Conn, j Join) {
	c.SetReadLimit(MaxFrame)
	ss := &session{c: c, j: j}
	if !h.open(ctx, ss) {
		_ = c.Close()
		j.done()
		return
	}
	go h.live(ctx, ss)
}

// open enters the room and writes the welcome; on failure it undoes what it did.
func (h *Hub) open(ctx context.Context, ss *session) bool {
	j := ss.j
	s, err := h.enter(ctx, j.Room, ss)
	if err != nil {
		Refuse(ss.c, websocket.CloseTryAgainLater, "temporarily unavailable", j.Write)
		return false
	}
	ss.s, ss.lease = s, h.lease()
	welcome, cursor, version, err := h.welcome(ctx, j, ss.lease)
	if err != nil {
		h.log.WarnContext(ctx, "room join failed", "room", j.Room, "error", err.Error())
		Refuse(ss.c, websocket.CloseTryAgainLater, "temporarily unavailable", j.Write)
		h.exit(j.Room, s)
		return false
	}
	ss.cursor, ss.version = cursor, version
	if ss.write(welcome) != nil {
		h.leave(j, ss.lease)
		h.exit(j.Room, s)
		return false
	}
	ss.life = time.AfterFunc(time.Until(j.Expires), func() { ss.close(CodeExpired, "token expired") })
	ss.erased = context.AfterFunc(ctx, func() { _ = ss.c.Close() }) // the user was erased
	h.watchDrain(j.Drain)
	s.start()
	select {
	case <-j.Drain: // drained before the watcher saw this socket
		ss.close(websocket.CloseGoingAway, "instance draining")
	default:
	}
	return true
}

// live is the socket's reader goroutine, its only goroutine while it idles: client
// frames until the socket ends, then the socket's end. Over a FrameConn each message
// is read on a fresh goroutine, which waits for it on the bare connection: the stack
// the last frame's Redis work grew is not kept while the socket idles (4 KiB where a
// fresh waiter needs 2).
func (h *Hub) live(ctx context.Context, ss *session) {
	if h.read(ctx, ss) {
		go h.live(ctx, ss)
		return
	}
	ss.life.Stop()
	ss.erased()
	ss.s.stop()
	_ = ss.c.Close()
	h.leave(ss.j, ss.lease)
	h.exit(ss.j.Room, ss.s)
	ss.j.done()
}

func (j Join) done() {
	if j.Done != nil {
		j.Done()
	}
}

// welcome records the socket's lease, announces it, and builds the welcome frame.
func (h *Hub) welcome(ctx context.Context, j Join, lease string) ([]byte, string, int64, error) {
	if err := h.store.Join(ctx, j.Room, lease, j.Member); err != nil {
		return nil, "", 0, err
	}
	h.mu.Lock()
	h.leases[lease] = leaseOf(j)
	h.mu.Unlock()
	if err := h.fan.Publish(ctx, j.Room, presenceFrame("join", j.Member)); err != nil {
		return nil, "", 0, err
	}
	asOf := time.Now()
	members, err := h.store.Members(ctx, j.Room)
	if err != nil {
		return nil, "", 0, err
	}
	h.reconcile(j.Room, members, asOf) // the room's first socket here learns who is there
	st, err := h.store.State(ctx, j.Room)
	if err != nil {
		return nil, "", 0, err
	}
	recent, newest, err := h.store.Recent(ctx, j.Room, WelcomeMessages)
	if err != nil {
		return nil, "", 0, err
	}
	msgs, reset := recent, false
	if j.After != "" {
		msgs, err = h.store.After(ctx, j.Room, j.After)
		if errors.Is(err, ErrReset) {
			msgs, reset, err = recent, true, nil
		}
		if err != nil {
			return nil, "", 0, err
		}
	}
	if msgs == nil {
		msgs = []Message{} // the contract's "messages" is always a list
	}
	if len(msgs) > 0 && after(msgs[len(msgs)-1].ID, newest) {
		newest = msgs[len(msgs)-1].ID
	}
	w := map[string]any{"op": "welcome", "room": j.Room, "members": members, "state": st.State,
		"version": st.Version, "messages": msgs, "cursor": newest}
	if st.State == nil {
		w["state"] = nil
	}
	if reset {
		w["reset"] = true
	}
	return encode(w), newest, st.Version, nil
}

// leave drops the lease and announces the leave when it was the user's last socket.
func (h *Hub) leave(j Join, lease string) {
	h.mu.Lock()
	delete(h.leases, lease)
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.store.Leave(ctx, j.Room, lease); err != nil {
		return
	}
	ms, err := h.store.Members(ctx, j.Room)
	if err != nil {
		return
	}
	for _, m := range ms {
		if m.User == j.Member.User {
			return
		}
	}
	_ = h.fan.Publish(ctx, j.Room, presenceFrame("leave", j.Member))
}
