package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/coder/websocket"

	"github.com/vividly-edu/notifications/shared/notification"
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

// Serve runs one socket's life in a room: welcome, then frames both ways until the
// client leaves, the token expires (4408), the instance drains (1001) or the socket
// is too slow (1013). It closes c.
func (h *Hub) Serve(ctx context.Context, c *websocket.Conn, j Join) {
	c.SetReadLimit(MaxFrame)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := h.enter(ctx, j.Room)
	if err != nil {
		_ = c.Close(websocket.StatusTryAgainLater, "temporarily unavailable")
		return
	}
	defer h.exit(j.Room, s)
	lease := h.lease()
	welcome, cursor, version, err := h.welcome(ctx, j, lease)
	if err != nil {
		h.log.WarnContext(ctx, "room join failed", "room", j.Room, "error", err.Error())
		_ = c.Close(websocket.StatusTryAgainLater, "temporarily unavailable")
		return
	}
	defer h.leave(j, lease)
	if err := write(ctx, c, j.Write, welcome); err != nil {
		return
	}
	out := make(chan []byte, 4) // replies to this socket alone (pong, error)
	readErr := make(chan error, 1)
	go func() { readErr <- h.read(ctx, c, j, out) }()
	life := time.NewTimer(time.Until(j.Expires))
	defer life.Stop()
	for {
		var frame []byte
		select {
		case <-ctx.Done():
			return
		case <-readErr:
			_ = c.CloseNow()
			return
		case <-life.C:
			_ = c.Close(CodeExpired, "token expired")
			return
		case <-j.Drain:
			_ = c.Close(websocket.StatusGoingAway, "instance draining")
			return
		case <-s.gone:
			_ = c.Close(websocket.StatusTryAgainLater, "too slow: resume with after")
			return
		case frame = <-out:
		case frame = <-s.q:
			if stale(frame, j.Member.User, cursor, &version) {
				continue
			}
		}
		if write(ctx, c, j.Write, frame) != nil {
			return
		}
	}
}

func write(ctx context.Context, c *websocket.Conn, d time.Duration, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, frame)
}

// stale reports a live frame the welcome already covered: a message at or before the
// cursor, a state not newer than the one sent last (a newer state supersedes), or the
// join of the socket's own user (the welcome lists it).
func stale(frame []byte, self, cursor string, version *int64) bool {
	var f struct {
		Op      string `json:"op"`
		User    string `json:"user"`
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	if json.Unmarshal(frame, &f) != nil {
		return true
	}
	switch f.Op {
	case "join":
		return f.User == self
	case "message":
		return !after(f.ID, cursor)
	case "state":
		if f.Version <= *version {
			return true
		}
		*version = f.Version
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

// read handles client frames until the socket fails or ctx ends.
func (h *Hub) read(ctx context.Context, c *websocket.Conn, j Join, out chan<- []byte) error {
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return err
		}
		reply := h.handle(ctx, j, typ, data)
		if reply != nil {
			select {
			case out <- reply:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// handle applies one client frame; it returns the reply for this socket, if any.
func (h *Hub) handle(ctx context.Context, j Join, typ websocket.MessageType, data []byte) []byte {
	if typ != websocket.MessageText {
		return errorFrame("invalid", "frames are JSON text")
	}
	f, err := Decode(data)
	if err != nil {
		return errorFrame("invalid", err.Error())
	}
	switch f.Op {
	case "ping":
		return []byte(`{"op":"pong"}`)
	case "send":
		if ok, _ := h.sends.Allow(j.Member.User); !ok {
			return errorFrame("rate_limited", "at most 5 messages per second")
		}
		text := notification.CleanText(f.Text, MaxText)
		m := Message{User: j.Member.User, Text: text, ClientID: f.ClientID}
		if oa, ok := h.store.(OrderedAppender); ok {
			if _, err := oa.AppendPublish(ctx, j.Room, m); err != nil {
				return errorFrame("unavailable", "message not stored; send it again")
			}
			return nil
		}
		m, err := h.store.Append(ctx, j.Room, m)
		if err != nil {
			return errorFrame("unavailable", "message not stored; send it again")
		}
		_ = h.fan.Publish(ctx, j.Room, messageFrame(m)) // a lost publish is recovered by resume
	case "state":
		if !j.Member.Teacher {
			return errorFrame("forbidden", "only a teacher changes the room's state")
		}
		st, err := h.store.SetState(ctx, j.Room, State{State: f.State, Version: f.Version, By: j.Member.User})
		if errors.Is(err, ErrConflict) {
			return errorFrame("conflict", "the state is at version "+itoa(st.Version))
		}
		if err != nil {
			return errorFrame("unavailable", "state not stored; send it again")
		}
		_ = h.fan.Publish(ctx, j.Room, stateFrame(st))
	}
	return nil
}
