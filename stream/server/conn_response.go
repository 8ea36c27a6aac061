package server

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/vividly-edu/notifications/stream/internal/sse"
)

// startResponse starts the SSE response. On HTTP/1.1 it takes the connection over
// from net/http (c.nc), with a context of its own that ends when the client goes
// away; otherwise (HTTP/2, or a ResponseWriter that cannot be hijacked) it streams
// through net/http. A fresh stream is then told its resume point.
func (c *conn) startResponse(w http.ResponseWriter, r *http.Request) bool {
	s := c.s
	if err := c.hijack(w, r); err != nil {
		s.metrics.ConnErrors.WithLabelValues("write").Inc()
		return false
	}
	if c.w == nil {
		// Streaming through net/http: the request's read deadline must not end it.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		sw, err := sse.Start(w, s.cfg.RetryHint, s.cfg.WriteTimeout)
		if err != nil {
			s.metrics.ConnErrors.WithLabelValues("write").Inc()
			return false
		}
		c.w = sw
	}
	if c.fresh && c.reset == nil {
		// Give the client its resume point now: if it has to reconnect before any
		// notification arrives, what was published meanwhile is replayed, not lost.
		if err := c.w.ID(c.pos.String()); err != nil || c.w.Flush() != nil {
			s.metrics.ConnErrors.WithLabelValues("write").Inc()
			return false
		}
	}
	return true
}

// hijack takes an HTTP/1.1 connection over from net/http and starts the response on
// it. It leaves c.w nil, without error, when the connection cannot be taken over.
func (c *conn) hijack(w http.ResponseWriter, r *http.Request) error {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		return nil
	}
	header := w.Header().Clone()
	nc, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	_ = rw // bytes net/http already buffered are dropped; any byte the client sends later ends the stream (watchClose)
	// No deadline from here on: the request's read deadline (see stream) included.
	_ = nc.SetDeadline(time.Time{})
	// From here on http.Server.Shutdown no longer waits for this stream: Serve's wait
	// does (the conn was registered when it opened), and close closes nc.
	c.s.setConn(c, nc)
	// The request's context ends when the handler returns; this one ends when the
	// client goes away (watchClose) or the stream does (close).
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(c.ctx))
	c.watched = make(chan struct{})
	go func() {
		defer close(c.watched)
		watchClose(nc, c.cancel)
	}()
	sw, err := sse.StartConn(nc, header, c.s.cfg.RetryHint, c.s.cfg.WriteTimeout)
	if err != nil {
		return err
	}
	c.w = sw
	return nil
}

// watchClose cancels when the client closes the connection (a read returns), as
// net/http's background read does for a handler's context.
func watchClose(nc net.Conn, cancel context.CancelFunc) {
	var b [1]byte
	_, _ = nc.Read(b[:])
	cancel()
}
