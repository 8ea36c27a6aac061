// Package sse writes Server-Sent Events frames to a response, flushing each batch and
// bounding each write with a deadline so a stalled client cannot hold a goroutine.
package sse

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
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
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
}

// Start sends the stream's headers and a retry hint, and flushes, so the client sees
// the stream open. It fails (before writing anything) when w cannot flush.
func Start(w http.ResponseWriter, retry, writeTimeout time.Duration) (*Writer, error) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	sw := &Writer{w: w, rc: rc, timeout: writeTimeout, buf: make([]byte, 0, 512)}
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
		if err := w.rc.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	if len(w.buf) > 0 {
		if _, err := w.w.Write(w.buf); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	return w.rc.Flush()
}
