package rooms

import (
	"context"
	"errors"

	"github.com/gorilla/websocket"

	"github.com/vividly-edu/notifications/shared/notification"
)

// read handles client frames; a reply goes out at once, between the flush goroutine's
// frames. Over a FrameConn it first waits for a frame on the bare connection and
// returns true after one message: the socket goes on, on a fresh goroutine (live).
// Otherwise, and when the socket fails or is closed, it returns false at its end.
func (h *Hub) read(ctx context.Context, ss *session) bool {
	fc, bounded := ss.c.NetConn().(*FrameConn)
	if bounded {
		ok, err := waitReadable(fc.Conn)
		if err != nil {
			return false
		}
		bounded = ok
	}
	for {
		typ, data, err := ss.c.ReadMessage()
		if err != nil {
			return false
		}
		if reply := h.handle(ctx, ss.j, typ == websocket.TextMessage, data); reply != nil {
			if ss.write(reply) != nil {
				return false
			}
		}
		if bounded {
			return true
		}
	}
}

// handle applies one client frame; it returns the reply for this socket, if any.
func (h *Hub) handle(ctx context.Context, j Join, text bool, data []byte) []byte {
	if !text {
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
