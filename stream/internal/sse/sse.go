// Package sse writes Server-Sent Events frames to a response, flushing each batch and
// bounding each write with a deadline so a stalled client cannot hold a goroutine.
package sse

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ErrUnsafeField is returned for an id or event name that would break the frame.
var ErrUnsafeField = errors.New("sse: id or event contains CR, LF or NUL")

// AppendEvent appends one event frame to buf. id and event must be single-line; data
// may hold newlines (each line becomes a data: line, as the SSE spec joins them back).
func AppendEvent(buf []byte, id, event string, data []byte) ([]byte, error) {
	if !safe(id) || !safe(event) {
		return buf, ErrUnsafeField
	}
	if id != "" {
		buf = append(append(append(buf, "id: "...), id...), '\n')
	}
	if event != "" {
		buf = append(append(append(buf, "event: "...), event...), '\n')
	}
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		buf = append(append(append(buf, "data: "...), data[:i]...), '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	buf = append(append(append(buf, "data: "...), data...), '\n')
	return append(buf, '\n'), nil
}

func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' || s[i] == 0 {
			return false
		}
	}
	return true
}

// Writer writes frames to one response. Not safe for concurrent use.
type Writer struct {
	out     output
	timeout time.Duration
	buf     []byte
}

// output is where a Writer's bytes go: a net/http response, or a connection taken
// over from net/http (StartConn).
type output interface {
	Write(p []byte) (int, error)
	Flush() error
	SetWriteDeadline(t time.Time) error
}

// response writes through net/http.
type response struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (r response) Write(p []byte) (int, error)        { return r.w.Write(p) }
func (r response) Flush() error                       { return r.rc.Flush() }
func (r response) SetWriteDeadline(t time.Time) error { return r.rc.SetWriteDeadline(t) }

// chunked writes an HTTP/1.1 chunked body straight to a connection: each Flush is one
// chunk, so nothing is buffered beyond the Writer's own frame buffer.
type chunked struct {
	conn net.Conn
	head []byte // response head, sent with the first chunk
}

// framePool lends the buffers chunks are assembled in, so an idle stream holds none
// and a busy one allocates none.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (c *chunked) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	bp := framePool.Get().(*[]byte)
	frame := append((*bp)[:0], c.head...)
	frame = strconv.AppendInt(frame, int64(len(p)), 16)
	frame = append(append(append(frame, "\r\n"...), p...), "\r\n"...)
	_, err := c.conn.Write(frame)
	if cap(frame) <= 64<<10 { // a rare huge frame is not kept for everyone
		*bp = frame
		framePool.Put(bp)
	}
	if err != nil {
		return 0, err
	}
	c.head = nil
	return len(p), nil
}

func (c *chunked) Flush() error                       { return nil }
func (c *chunked) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// Close ends the chunked body. The caller closes the connection.
func (w *Writer) Close() error {
	if c, ok := w.out.(*chunked); ok {
		_ = c.conn.SetWriteDeadline(time.Now().Add(w.timeout))
		_, err := c.conn.Write([]byte("0\r\n\r\n"))
		return err
	}
	return nil
}

// Start sends the stream's headers and a retry hint, and flushes, so the client sees
// the stream open. It fails (before writing anything) when w cannot flush.
func Start(w http.ResponseWriter, retry, writeTimeout time.Duration) (*Writer, error) {
	setHeaders(w.Header())
	sw := &Writer{out: response{w, http.NewResponseController(w)}, timeout: writeTimeout, buf: make([]byte, 0, 512)}
	sw.Retry(retry)
	sw.Comment("ok")
	return sw, sw.Flush()
}

func setHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}

// StartConn is Start for a connection taken over from net/http (Hijack): it writes
// the response head itself — status 200, header (plus the stream's own headers),
// chunked encoding, Connection: close — then the retry hint, and flushes. Frames then
// go straight to conn, without net/http's per-connection buffers.
func StartConn(conn net.Conn, header http.Header, retry, writeTimeout time.Duration) (*Writer, error) {
	setHeaders(header)
	header.Del("Content-Length")
	header.Set("Transfer-Encoding", "chunked")
	header.Set("Connection", "close")
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if err := header.Write(&head); err != nil {
		return nil, err
	}
	head.WriteString("\r\n")
	sw := &Writer{out: &chunked{conn: conn, head: head.Bytes()}, timeout: writeTimeout, buf: make([]byte, 0, 512)}
	sw.Retry(retry)
	sw.Comment("ok")
	return sw, sw.Flush()
}

// Retry queues a retry: line telling the client how long to wait before reconnecting.
func (w *Writer) Retry(d time.Duration) {
	w.buf = append(strconv.AppendInt(append(w.buf, "retry: "...), d.Milliseconds(), 10), "\n\n"...)
}

// Comment queues a comment line (a heartbeat). text must be single-line.
func (w *Writer) Comment(text string) {
	if !safe(text) {
		text = ""
	}
	w.buf = append(append(append(w.buf, ": "...), text...), "\n\n"...)
}

// ID queues an id-only frame. Browsers set EventSource.lastEventId from it without
// dispatching an event (the data buffer is empty), so a client that has received no
// notification yet still reconnects with a Last-Event-ID.
func (w *Writer) ID(id string) error {
	if !safe(id) {
		return ErrUnsafeField
	}
	w.buf = append(append(append(w.buf, "id: "...), id...), "\n\n"...)
	return nil
}

// Event queues one event frame.
func (w *Writer) Event(id, event string, data []byte) error {
	var err error
	w.buf, err = AppendEvent(w.buf, id, event, data)
	return err
}

// Flush writes what is queued and flushes it to the client within the write timeout.
func (w *Writer) Flush() error {
	if w.timeout > 0 {
		// Not every ResponseWriter supports deadlines (httptest's recorder does not);
		// those writes are unbounded, which only tests use.
		if err := w.out.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	if len(w.buf) > 0 {
		if _, err := w.out.Write(w.buf); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	return w.out.Flush()
}
