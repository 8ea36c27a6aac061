package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/rooms"
)

// roomsProtocol is the WebSocket subprotocol of the rooms contract.
const roomsProtocol = "vividly.rooms.v1"

// roomsUpgrader keeps little per socket: its own 512-byte read buffer (a client frame
// larger than that is read past it) instead of net/http's 4 KiB reader, and a write
// buffer taken from a pool for each frame, not kept while the socket idles (with
// coder/websocket both of net/http's 4 KiB buffers stayed with every socket;
// docs/PERFORMANCE.md "Rooms").
var roomsUpgrader = websocket.Upgrader{
	ReadBufferSize:  512,
	WriteBufferSize: 4096,
	WriteBufferPool: &sync.Pool{},
	Subprotocols:    []string{roomsProtocol},
	CheckOrigin:     func(*http.Request) bool { return true }, // checked before, exactly
}

// roomSocket serves GET /api/v1/rooms/{room}/ws (docs/PROTOCOL.md "Rooms over WebSockets"). What can be
// refused before the upgrade gets an HTTP status as for streams (draining, the
// address's gate, a bad room id, the instance ceiling, a foreign Origin); what a
// browser must be able to see gets a close code after it (4401, 4403, 4429), because
// a browser's WebSocket never shows the HTTP status of a refused upgrade.
//
// The socket counts as one of the server's streams (a placeholder conn): Serve waits
// for it, MaxConns and the per-user cap (presence) count it, and close releases it.
func (s *Server) roomSocket(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.refuse(w, http.StatusMethodNotAllowed, "method", "the room socket answers GET only", 0)
		return
	}
	// The socket's context ends when its user is erased (erase.go), not with the request's.
	sctx, end := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &conn{s: s, ctx: r.Context(), erase: eraser{end: end}}
	handedOff := false
	defer func() {
		if !handedOff {
			end()
			c.close()
		}
	}()
	if !s.register(c) {
		s.refuse(w, http.StatusServiceUnavailable, "draining", "shutting down", 1)
		return
	}
	c.registered = true
	addr, ok := s.gate(w, r)
	if !ok {
		return
	}
	room := r.PathValue("room")
	if !broker.ValidGroupID(room) {
		s.refuse(w, http.StatusBadRequest, "room", "room ids use the group id charset", 0)
		return
	}
	c.slot = true
	if s.active.Add(1) > int64(s.cfg.MaxConns) {
		s.refuse(w, http.StatusServiceUnavailable, "ceiling", "instance at its connection ceiling", 1)
		return
	}
	if !s.originAllowed(r) {
		s.refuse(w, http.StatusForbidden, "origin", "origin not allowed", 0)
		return
	}
	ws, err := roomsUpgrader.Upgrade(rooms.FrameWriter(w), r, nil)
	if err != nil {
		return // Upgrade answered the client
	}
	refuse := func(code int, reason string) { rooms.Refuse(ws, code, reason, s.cfg.WriteTimeout) }
	if ws.Subprotocol() != roomsProtocol {
		refuse(websocket.CloseProtocolError, "subprotocol "+roomsProtocol+" required")
		return
	}
	id, kind, _, err := s.authenticate(r, addr)
	if err != nil {
		refuse(rooms.CodeCredentials, "credentials refused")
		return
	}
	if kind != auth.Ticket {
		if ok, _ := s.users.Allow(id.UserID); !ok {
			refuse(rooms.CodeOverCap, "too many requests for this user")
			return
		}
	}
	if !slices.Contains(id.Groups, room) {
		refuse(rooms.CodeNotMember, "not a member of this room")
		return
	}
	c.id, c.user = id, id.UserID
	member := s.instance + "/" + strconv.FormatInt(s.connSeq.Add(1), 10)
	admitted, err := s.presence.Acquire(r.Context(), c.user, member, s.cfg.MaxConnsPerUser)
	if err != nil || !admitted {
		refuse(rooms.CodeOverCap, "too many open connections for this user")
		return
	}
	s.setPresence(c, member)
	// Serve writes the welcome and returns; the socket lives on a goroutine of its own and
	// this handler returns: net/http forgets a hijacked connection, and the request's
	// goroutine — its stack grown by the upgrade and the token check — ends with the
	// request, which nothing keeps. At 5,000 sockets that was ~10 KiB of each socket's 51
	// (docs/PERFORMANCE.md, "Rooms"). c stays registered until the socket ends (Done),
	// so Server.Serve still waits for it.
	join := rooms.Join{Room: room, Member: rooms.Member{User: id.UserID, Teacher: id.Teacher},
		After: r.URL.Query().Get("after"), Expires: id.Expires, Drain: s.draining, Write: s.cfg.WriteTimeout,
		Done: func() { end(); c.close() }}
	handedOff = true
	s.rooms.Serve(sctx, ws, join)
}

// originAllowed: a browser's socket must come from one of ALLOWED_ORIGINS (exactly)
// or from this site itself; a client without Origin (not a browser) passes.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || s.origins[o] {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}
