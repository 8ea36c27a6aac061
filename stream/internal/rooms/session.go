package rooms

import (
	"context"
	"errors"
	"sync"
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
}

// closeWait bounds how long a closing socket waits for the peer's close frame.
const closeWait = 5 * time.Second

// session is one socket's connection and what its writer needs to skip stale frames.
type session struct {
	c       *websocket.Conn
	j       Join
	cursor  string // the welcome's newest message
	version int64  // the newest state this socket was sent

	wmu     sync.Mutex // one writer at a time: the flush goroutine or the reader's reply
	closing sync.Once
}

// Serve runs one socket's life in a room on the caller's goroutine, which becomes the
// socket's reader — the only goroutine an idle socket keeps: welcome, then frames both
// ways until the client leaves, the token expires (4408), the instance drains (1001)
// or the socket is too slow (1013). It closes c.
func (h *Hub) Serve(ctx context.Context, c *websocket.Conn, j Join) {
	defer c.Close()
	c.SetReadLimit(MaxFrame)
	ss := &session{c: c, j: j}
	s, err := h.enter(ctx, j.Room, ss)
	if err != nil {
		Refuse(c, websocket.CloseTryAgainLater, "temporarily unavailable", j.Write)
		return
	}
	defer h.exit(j.Room, s)
	lease := h.lease()
	welcome, cursor, version, err := h.welcome(ctx, j, lease)
	if err != nil {
		h.log.WarnContext(ctx, "room join failed", "room", j.Room, "error", err.Error())
		Refuse(c, websocket.CloseTryAgainLater, "temporarily unavailable", j.Write)
		return
	}
	defer h.leave(j, lease)
	ss.cursor, ss.version = cursor, version
	if ss.write(welcome) != nil {
		return
	}
	life := time.AfterFunc(time.Until(j.Expires), func() { ss.close(CodeExpired, "token expired") })
	defer life.Stop()
	erased := context.AfterFunc(ctx, func() { _ = c.Close() }) // the user was erased
	defer erased()
	h.watchDrain(j.Drain)
	s.start()
	select {
	case <-j.Drain: // drained before the watcher saw this socket
		ss.close(websocket.CloseGoingAway, "instance draining")
	default:
	}
	h.read(ctx, ss)
	s.stop()
	_ = c.Close()
}

// Refuse closes c with code, waiting up to closeWait for the peer's close frame so
// the peer reads the code before the connection ends.
func Refuse(c *websocket.Conn, code int, reason string, d time.Duration) {
	ss := &session{c: c, j: Join{Write: d}}
	ss.close(code, reason)
	for {
		if _, _, err := c.NextReader(); err != nil {
			_ = c.Close()
			return
		}
	}
}

// write sends one text frame within the write bound.
func (ss *session) write(frame []byte) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	_ = ss.c.SetWriteDeadline(deadline(ss.j.Write))
	return ss.c.WriteMessage(websocket.TextMessage, frame)
}

// close sends the close frame with code (once) and lets the peer answer: its close,
// or closeWait running out, ends the reader, and Serve closes the connection.
func (ss *session) close(code int, reason string) {
	ss.closing.Do(func() {
		msg := websocket.FormatCloseMessage(code, reason)
		if ss.c.WriteControl(websocket.CloseMessage, msg, deadline(ss.j.Write)) != nil {
			_ = ss.c.Close()
			return
		}
		_ = ss.c.SetReadDeadline(time.Now().Add(closeWait))
	})
}

// deadline is d from now; none when d is not set.
func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// stale reports a live frame the welcome already covered: a message at or before the
// cursor, a state not newer than the one sent last (a newer state supersedes), or the
// join of the socket's own user (the welcome lists it). Only the flush goroutine calls it.
func (ss *session) stale(f *head) bool {
	switch f.Op {
	case "join":
		return f.User == ss.j.Member.User
	case "message":
		return !after(f.ID, ss.cursor)
	case "state":
		if f.Version <= ss.version {
			return true
		}
		ss.version = f.Version
	}
	return false
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

