package server

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/sse"
)

// replayPage is how many log entries one read fetches while replaying.
const replayPage = 100

// stream serves GET /api/v1/notifications/stream. See docs/PROTOCOL.md for the contract, and
// conn for a stream's life.
//
// Once the stream is open, an HTTP/1.1 connection is taken over from net/http and
// served by a goroutine of its own, and the handler returns: an idle stream then holds
// one small goroutine and its frame buffer instead of net/http's ~11 KiB of buffers,
// its background reader and the handler's grown stack (docs/PERFORMANCE.md).
//
// Until the response starts, the request is bounded like any other (REQUEST_TIMEOUT on
// reading it), so a refusal's read of an unwanted body cannot hold the connection.
// Any method but GET is 405 before anything is spent: no ticket, no slot, no stream
// (a CORS preflight never gets here: cors answers it).
//
// Unlike the API handlers, the stream does not return its refusals to api: conn.open
// answers each one as it finds it (s.refuse, s.unavailable, both through respond's
// mapping), because it must answer before its response starts and while it holds what
// the refusal releases (its slot, its presence, its hub subscription).
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.refuse(w, http.StatusMethodNotAllowed, "method", "the stream answers GET only", 0)
		return
	}
	c := &conn{s: s, ctx: r.Context(), erase: newEraser()} // carries the trace (withTrace)
	if !c.open(w, r) {
		c.close()
		return
	}
	if c.nc == nil { // net/http keeps the connection (HTTP/2): serve in the handler
		defer c.close()
		c.serve()
		return
	}
	go func() {
		defer c.close()
		c.serve()
	}()
}

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

// serve sends the replay, then live notifications until the stream must end.
func (c *conn) serve() {
	s := c.s
	c.serving, c.started = true, time.Now()
	s.metrics.Active.Inc()
	s.log.InfoContext(c.ctx, "stream opened", logging.KeyUserID, c.user, "resume_from", truncate(c.from, 64))
	if err := c.catchUp(c.ctx); err != nil {
		c.closed = "replay failed: " + err.Error()
		return
	}
	c.live(c.ctx, s.lifetime(c.id.Expires))
}

// lifetime is how long a stream may stay open: MaxConnAge jittered to 80–100 %, and
// never past the token's expiry.
func (s *Server) lifetime(expires time.Time) time.Duration {
	life := time.Duration(float64(s.cfg.MaxConnAge) * (0.8 + 0.2*rand.Float64()))
	if left := time.Until(expires); left < life {
		life = max(left, 0)
	}
	return life
}
