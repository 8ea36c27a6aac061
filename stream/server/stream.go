package server

import (
	"net/http"
	"time"
)

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
