package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
	"github.com/vividly-edu/notifications/stream/internal/hub"
	"github.com/vividly-edu/notifications/stream/internal/sse"
)

// conn is one SSE stream, from admission to its end.
//
// open acquires, in this order: a place among the server's streams (Serve waits for
// it), the admission gate (the address's failure budget), a slot (MaxConns), the
// client's identity and a token of the user's rate limit, a presence entry (the
// per-user cap across instances), a hub subscription, and the response — on HTTP/1.1
// the connection itself, taken over from net/http. serve sends until the stream must
// end. close releases what open acquired, in reverse order, exactly once, however far
// open got: every path out of a stream goes through it.
type conn struct {
	s      *Server
	ctx    context.Context // the request's; for a taken-over connection, until the client leaves
	cancel context.CancelFunc
	user   string
	id     auth.Identity
	erase  eraser // ends the connection when its user is erased (erase.go); set before register

	// What open acquired; close releases what is set.
	registered bool          // counted in s.streams and listed in s.conns
	slot       bool          // counted in s.active, against MaxConns
	member     string        // presence entry ("" when none); written under s.connsMu
	sub        *hub.Sub      // live notifications
	w          *sse.Writer   // the response
	nc         net.Conn      // the connection taken over from net/http; nil on HTTP/2
	watched    chan struct{} // closed once watchClose has returned
	serving    bool          // counted in metrics.Active and logged as opened

	// Where the stream stands.
	from    string        // the resume point, as the client sent it
	fresh   bool          // no last id from the client
	sources []string      // the logs this stream reads (streamSources)
	pos     cursor.Cursor // the newest position sent (or resumed from) of each; live ids up to it are skipped
	backlog *backlog      // the replay, its first pages read before the headers
	reset   *sourceReset  // the resume point cannot be used (the whole of it when malformed)
	sent    int
	started time.Time
	closed  string // why the stream ended, for the log

	// Read state and preferences (conn_control.go, conn_frames.go).
	prefs     broker.Prefs // the user's preferences: muted types are skipped
	idOwed    bool         // pos moved past a skipped notification and the client was not told yet
	unflushed bool         // frames are queued that no notification count covers (read events, ids)

	once sync.Once
}

// open admits the request and starts the stream, answering a refusal itself. It
// reports whether the stream is open; either way the caller calls close.
func (c *conn) open(w http.ResponseWriter, r *http.Request) bool {
	s := c.s
	if !s.register(c) {
		s.refuse(w, http.StatusServiceUnavailable, "draining", "shutting down", 1)
		return false
	}
	c.registered = true
	addr, ok := s.gate(w, r)
	if !ok {
		return false
	}
	c.slot = true
	if s.active.Add(1) > int64(s.cfg.MaxConns) {
		s.refuse(w, http.StatusServiceUnavailable, "ceiling", "instance at its connection ceiling", 1)
		return false
	}
	id, kind, status, err := s.authenticate(r, addr)
	if err != nil {
		s.refuse(w, status, "auth", err.Error(), 0)
		return false
	}
	// A ticket's user was counted when the ticket was issued; a refusal now would
	// only waste it.
	if kind != auth.Ticket && !s.admitUser(w, id.UserID) {
		return false
	}
	c.id, c.user = id, id.UserID
	if _, ok := w.(http.Flusher); !ok {
		s.refuse(w, http.StatusInternalServerError, "no_flush", "streaming unsupported", 0)
		return false
	}
	if !c.acquirePresence(w) || !c.subscribe(w, r) {
		return false
	}
	// Before the response starts: once a client sees its stream open, its membership
	// is recorded (best effort: a failure is logged and the stream opens anyway).
	s.recordMembership(c.ctx, c.id)
	return c.startResponse(w, r)
}

// acquirePresence takes a place under the user's connection cap.
func (c *conn) acquirePresence(w http.ResponseWriter) bool {
	s := c.s
	member := s.instance + "/" + strconv.FormatInt(s.connSeq.Add(1), 10)
	admitted, err := s.presence.Acquire(c.ctx, c.user, member, s.cfg.MaxConnsPerUser)
	if err != nil {
		s.unavailable(c.ctx, w, c.user, "presence", err)
		return false
	}
	if !admitted {
		s.refuse(w, http.StatusTooManyRequests, "user_cap", "too many open streams for this user", 5)
		return false
	}
	s.setPresence(c, member)
	return true
}

// subscribe finds the resume point, joins the hub and reads the first replay page —
// in that order, so nothing published meanwhile falls between replay and live.
func (c *conn) subscribe(w http.ResponseWriter, r *http.Request) bool {
	s := c.s
	c.from = r.Header.Get("Last-Event-ID")
	if c.from == "" {
		c.from = r.URL.Query().Get("last_event_id")
	}
	c.fresh = c.from == ""
	c.sources = streamSources(c.id)
	given, malformed := cursor.Cursor{}, false
	if !c.fresh {
		var err error
		if given, err = cursor.Parse(c.from); err != nil {
			given, malformed = cursor.Cursor{}, true
		}
	}
	// Logs the client has no position in start at their newest entry, read before
	// joining so nothing published in between is missed (the replay covers it).
	pos, err := s.positions(c.ctx, c.sources, given, c.keyOf)
	if err != nil {
		s.unavailable(c.ctx, w, c.user, "read log", err)
		return false
	}
	c.pos = pos

	joinCtx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	sub, err := s.hub.Join(joinCtx, c.sources...)
	cancel()
	if err != nil {
		s.unavailable(c.ctx, w, c.user, "subscribe", err)
		return false
	}
	c.sub = sub
	if err := c.loadPrefs(c.ctx); err != nil {
		s.unavailable(c.ctx, w, c.user, "preferences", err)
		return false
	}
	if malformed {
		// Every log starts at its newest (c.pos) and stays there; the reset names the
		// own log's oldest id. The broker reports it in its reset of rediskey.Max, an
		// id no log ever issues.
		_, err := s.broker.After(c.ctx, c.user, rediskey.Max, 1)
		held := &broker.ResetError{}
		if !errors.As(err, &held) && err != nil {
			s.unavailable(c.ctx, w, c.user, "read log", err)
			return false
		}
		reset := &broker.ResetError{Reason: "malformed", Newest: c.pos[cursor.Own], Oldest: held.Oldest}
		c.reset = &sourceReset{source: c.user, err: reset}
		return true
	}
	// The first page of every log is read before the response starts, so a store
	// failure is still a 503 the client retries.
	c.backlog, err = c.newBacklog(c.ctx)
	if err == nil {
		err = c.backlog.fill(c.ctx)
	}
	if err != nil {
		s.unavailable(c.ctx, w, c.user, "replay", err)
		return false
	}
	return true
}

func (c *conn) close() {
	c.once.Do(func() {
		s := c.s
		if c.serving {
			s.metrics.Active.Dec()
			s.log.InfoContext(c.ctx, "stream closed", logging.KeyUserID, c.user, "reason", c.closed,
				"sent", c.sent, "duration_s", time.Since(c.started).Seconds())
		}
		if c.nc != nil {
			if c.serving {
				_ = c.w.Close() // end the chunked body; a stream that never started has none
			}
			_ = c.nc.Close()
			<-c.watched // the read in watchClose returns once the connection is closed
		}
		if c.cancel != nil {
			c.cancel()
		}
		if c.sub != nil {
			c.sub.Close()
		}
		if member := s.clearPresence(c); member != "" {
			s.releasePresence(c.user, member)
		}
		if c.slot {
			s.active.Add(-1)
		}
		if c.registered {
			s.unregister(c) // last: Serve's wait for the streams ends here
		}
	})
}

// fail records why the stream ended on an error, and counts it.
func (c *conn) fail(reason string, err error) {
	c.closed = reason + ": " + err.Error()
	c.s.metrics.ConnErrors.WithLabelValues(reason).Inc()
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

// keyOf names source in the stream's cursor: the user's own log is cursor.Own (a
// cursor never holds the user id), the others by their source name.
func (c *conn) keyOf(source string) string { return cursorKey(c.user, source) }
