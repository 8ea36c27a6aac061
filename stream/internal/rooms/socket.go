package rooms

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// closeWait bounds how long a closing socket waits for the peer's close frame.
const closeWait = 5 * time.Second

// session is one socket: its connection, its place in the room, and what its writer
// needs to skip stale frames.
type session struct {
	c       *websocket.Conn
	j       Join
	s       *sock
	lease   string
	cursor  string      // the welcome's newest message
	version int64       // the newest state this socket was sent
	life    *time.Timer // closes the socket with 4408 when the token expires
	erased  func() bool // stops closing the socket when its user is erased

	wmu     sync.Mutex // one writer at a time: the flush goroutine or the reader's reply
	closing sync.Once
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
