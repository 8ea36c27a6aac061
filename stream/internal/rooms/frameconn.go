package rooms

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
)

// FrameWriter wraps w so that a WebSocket upgrade through it (gorilla's Upgrader
// hijacks the connection) gets a FrameConn.
func FrameWriter(w http.ResponseWriter) http.ResponseWriter { return frameWriter{w} }

type frameWriter struct{ http.ResponseWriter }

func (w frameWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &FrameConn{Conn: c}, rw, nil
}

// FrameConn is a server-side net.Conn whose Read never returns bytes past the end of
// the client's current WebSocket frame. Under gorilla/websocket's reader it means
// that once a message is read nothing of the next one waits in gorilla's buffer, so
// an idle socket can wait for its next frame on the bare connection (waitReadable) —
// on a goroutine of 2 KiB, where a reader blocked inside gorilla keeps 4 KiB.
type FrameConn struct {
	net.Conn
	hdr  [14]byte // the next frame's header, as far as read
	nhdr int
	left uint64 // payload bytes left in the current frame
}

func (f *FrameConn) Read(p []byte) (int, error) {
	if f.left > 0 {
		if uint64(len(p)) > f.left {
			p = p[:f.left]
		}
		n, err := f.Conn.Read(p)
		f.left -= uint64(n)
		return n, err
	}
	if want := f.headerLen() - f.nhdr; len(p) > want {
		p = p[:want]
	}
	n, err := f.Conn.Read(p)
	f.nhdr += copy(f.hdr[f.nhdr:], p[:n])
	if f.nhdr >= 2 && f.nhdr == f.headerLen() {
		f.left, f.nhdr = f.payloadLen(), 0
	}
	return n, err
}

// headerLen is the header's length as far as its first two bytes tell (RFC 6455 5.2).
func (f *FrameConn) headerLen() int {
	if f.nhdr < 2 {
		return 2
	}
	n := 2
	switch f.hdr[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if f.hdr[1]&0x80 != 0 { // masked, as every client frame is
		n += 4
	}
	return n
}

func (f *FrameConn) payloadLen() uint64 {
	switch n := f.hdr[1] & 0x7f; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
	case 127:
		return binary.BigEndian.Uint64(f.hdr[2:10])
	default:
		return uint64(n)
	}
}
