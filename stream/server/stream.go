package server

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/hub"
	"github.com/vividly-edu/notifications/stream/internal/sse"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// replayPage is how many log entries one read fetches while replaying.
const replayPage = 100

// conn is one open stream.
type conn struct {
	s      *Server
	user   string
	w      *sse.Writer
	last   rediskey.StreamID // newest id sent (or resumed from); live ids up to it are skipped
	sent   int
	closed string // why the stream ended, for the log
}

// stream serves GET /api/v1/notifications/stream. See DESIGN.md for the contract.
//
// Once the stream is open, an HTTP/1.1 connection is taken over from net/http and
// served by a goroutine of its own, and the handler returns: an idle stream then holds
// one small goroutine and its frame buffer instead of net/http's ~11 KiB of buffers,
// its background reader and the handler's grown stack (docs/PERFORMANCE.md).
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	var cleanup []func() // run newest first when the stream ends
	detached := false
	defer func() {
		if !detached {
			runCleanup(cleanup)
		}
	}()
	select {
	case <-s.draining:
		s.refuse(w, http.StatusServiceUnavailable, "draining", "shutting down", 1)
		return
	default:
	}
	if !s.admit(w, r) {
		return
	}
	if s.active.Add(1) > int64(s.cfg.MaxConns) {
		s.active.Add(-1)
		s.refuse(w, http.StatusServiceUnavailable, "ceiling", "instance at its connection ceiling", 1)
		return
	}
	cleanup = append(cleanup, func() { s.active.Add(-1) })
	id, status, err := s.authenticate(r)
	if err != nil {
		s.refuse(w, status, "auth", err.Error(), 0)
		return
	}
	if _, ok := w.(http.Flusher); !ok {
		s.refuse(w, http.StatusInternalServerError, "no_flush", "streaming unsupported", 0)
		return
	}
	member := s.instance + "/" + strconv.FormatInt(s.connSeq.Add(1), 10)
	admitted, err := s.presence.Acquire(ctx, id.UserID, member, s.cfg.MaxConnsPerUser)
	if err != nil {
		s.unavailable(ctx, w, id.UserID, "presence", err)
		return
	}
	if !admitted {
		s.refuse(w, http.StatusTooManyRequests, "user_cap", "too many open streams for this user", 5)
		return
	}
	s.track(member, id.UserID)
	cleanup = append(cleanup, func() { s.untrack(member, id.UserID) })

	// Where to resume: the client's last id, or — for a fresh stream — the log's newest
	// id read before subscribing, so a resync can replay what was published since.
	from := r.Header.Get("Last-Event-ID")
	if from == "" {
		from = r.URL.Query().Get("last_event_id")
	}
	fresh := from == ""
	if fresh {
		latest, err := s.broker.Latest(ctx, id.UserID, 1)
		if err != nil {
			s.unavailable(ctx, w, id.UserID, "read log", err)
			return
		}
		from = "0-0"
		if len(latest) == 1 {
			from = latest[0].ID
		}
	}

	joinCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	sub, err := s.hub.Join(joinCtx, id.UserID)
	cancel()
	if err != nil {
		s.unavailable(ctx, w, id.UserID, "subscribe", err)
		return
	}
	cleanup = append(cleanup, sub.Close)

	// The first page is read before any header is sent, so a Redis failure is a clean
	// 503 the client can retry rather than a stream that dies at once.
	page, err := s.broker.After(ctx, id.UserID, from, replayPage)
	var reset *broker.ResetError
	if err != nil && !errors.As(err, &reset) {
		s.unavailable(ctx, w, id.UserID, "replay", err)
		return
	}
	sw, nc, err := s.open(w, r)
	if err != nil {
		s.metrics.ConnErrors.WithLabelValues("write").Inc()
		return
	}
	c := &conn{s: s, user: id.UserID, w: sw}
	c.last, _ = rediskey.ParseStreamID(from)
	if fresh && reset == nil {
		// Give the client its resume point now: if it has to reconnect before any
		// notification arrives, what was published meanwhile is replayed, not lost.
		if err := sw.ID(from); err != nil || sw.Flush() != nil {
			s.metrics.ConnErrors.WithLabelValues("write").Inc()
			if nc != nil {
				nc.Close()
				s.streams.Done()
			}
			return
		}
	}
	run := func(ctx context.Context) {
		s.metrics.Active.Inc()
		defer s.metrics.Active.Dec()
		start := time.Now()
		s.log.InfoContext(ctx, "stream opened", logging.KeyUserID, id.UserID, "resume_from", truncate(from, 64))
		defer func() {
			s.log.InfoContext(ctx, "stream closed", logging.KeyUserID, id.UserID, "reason", c.closed,
				"sent", c.sent, "duration_s", time.Since(start).Seconds())
		}()
		if err := c.catchUp(ctx, page, reset); err != nil {
			c.closed = "replay failed: " + err.Error()
			return
		}
		c.live(ctx, sub, s.lifetime(id))
	}
	if nc == nil {
		run(ctx)
		return
	}
	detached = true
	go func() {
		defer s.streams.Done()
		defer runCleanup(cleanup)
		defer nc.Close()
		// The request's context ends when the handler returns; this one ends when the
		// client goes away (watchClose) or the stream does.
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		go watchClose(nc, cancel)
		run(ctx)
		_ = sw.Close()
	}()
}

// open starts the SSE response. On HTTP/1.1 it takes the connection over from
// net/http and returns it, counted in s.streams (the caller calls Done once it is
// finished with it); otherwise (HTTP/2, or a ResponseWriter that cannot be hijacked)
// it streams through net/http and returns a nil connection.
func (s *Server) open(w http.ResponseWriter, r *http.Request) (*sse.Writer, net.Conn, error) {
	if r.ProtoMajor == 1 && r.ProtoMinor == 1 {
		header := w.Header().Clone()
		// Counted before the hijack: from the hijack on, http.Server.Shutdown stops
		// waiting for this handler, and Serve's wait must already include it.
		s.streams.Add(1)
		if nc, rw, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = rw // a GET stream has no body; anything the client pipelines is ignored
			_ = nc.SetDeadline(time.Time{})
			sw, err := sse.StartConn(nc, header, s.cfg.RetryHint, s.cfg.WriteTimeout)
			if err != nil {
				nc.Close()
				s.streams.Done()
				return nil, nil, err
			}
			return sw, nc, nil
		}
		s.streams.Done()
	}
	sw, err := sse.Start(w, s.cfg.RetryHint, s.cfg.WriteTimeout)
	return sw, nil, err
}

// watchClose cancels when the client closes the connection (a read returns), as
// net/http's background read does for a handler's context.
func watchClose(nc net.Conn, cancel context.CancelFunc) {
	var b [1]byte
	_, _ = nc.Read(b[:])
	cancel()
}

func runCleanup(fns []func()) {
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// authenticate resolves the request's credential to an identity, or says which status
// to refuse it with.
func (s *Server) authenticate(r *http.Request) (auth.Identity, int, error) {
	cred, err := auth.Extract(r, s.cfg.AuthCookie)
	if err != nil {
		return auth.Identity{}, http.StatusUnauthorized, err
	}
	switch cred.Kind {
	case auth.Ticket:
		id, err := s.tickets.Redeem(r.Context(), cred.Value)
		if err != nil && !errors.Is(err, ticket.ErrInvalid) {
			s.log.ErrorContext(r.Context(), "ticket redemption failed", logging.KeyError, err.Error())
			return id, http.StatusServiceUnavailable, errors.New("temporarily unavailable")
		}
		if err != nil {
			return id, http.StatusUnauthorized, err
		}
		return id, 0, nil
	case auth.Cookie:
		// A cookie rides along on any request the browser makes: only this site and
		// listed origins may use it (a cross-site EventSource always sends Origin).
		if o := r.Header.Get("Origin"); o != "" && !s.origins[o] && !sameOrigin(r, o) {
			return auth.Identity{}, http.StatusForbidden, errors.New("origin not allowed")
		}
	}
	id, err := s.verifier.Verify(cred.Value)
	if err != nil {
		return id, http.StatusUnauthorized, err
	}
	return id, 0, nil
}

// track records an open stream for the presence refresh; untrack releases it.
func (s *Server) track(member, user string) {
	s.connsMu.Lock()
	s.conns[member] = user
	s.connsMu.Unlock()
}

func (s *Server) untrack(member, user string) {
	s.connsMu.Lock()
	delete(s.conns, member)
	s.connsMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.presence.Release(ctx, user, member); err != nil {
		s.log.Warn("presence release failed; the entry expires by itself", logging.KeyError, err.Error())
	}
}

// truncate bounds client-supplied text before it is logged.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// lifetime is how long this stream may stay open: MaxConnAge jittered to 80–100 %, and
// never past the token's expiry.
func (s *Server) lifetime(id auth.Identity) time.Duration {
	life := time.Duration(float64(s.cfg.MaxConnAge) * (0.8 + 0.2*rand.Float64()))
	if left := time.Until(id.Expires); left < life {
		life = max(left, 0)
	}
	return life
}

// live forwards queued notifications until the stream must end.
func (c *conn) live(ctx context.Context, sub *hub.Sub, life time.Duration) {
	s := c.s
	var batch []notification.Envelope
	lifeTimer := time.NewTimer(life)
	defer lifeTimer.Stop()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	draining := s.draining
	var closeAt <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			c.closed = "client left"
			return
		case <-lifeTimer.C:
			c.closed = "lifetime"
			c.w.Retry(s.cfg.RetryHint)
			_ = c.w.Flush()
			return
		case <-draining:
			// Spread the closes so clients do not all reconnect in the same instant.
			draining = nil
			closeAt = time.After(time.Duration(rand.Int64N(int64(s.cfg.DrainTime) + 1)))
		case <-closeAt:
			c.closed = "shutdown"
			c.w.Retry(s.cfg.RetryHint/2 + time.Duration(rand.Int64N(int64(s.cfg.RetryHint)+1)))
			_ = c.w.Flush()
			return
		case <-beat.C:
			c.w.Comment("ping")
			if err := c.w.Flush(); err != nil {
				c.fail("write", err)
				return
			}
		case <-sub.Ready():
			var dropped bool
			batch, dropped = sub.Take(batch[:0])
			if len(batch) > 0 {
				if err := c.forward(ctx, batch); err != nil {
					return
				}
				clear(batch)
				beat.Reset(s.cfg.Heartbeat)
			}
			if dropped {
				c.closed = "too slow"
				s.log.WarnContext(ctx, "dropping slow client", logging.KeyUserID, c.user)
				return
			}
		}
	}
}

// forward writes a batch taken from the queue. A resync marker in it means live
// delivery was interrupted: what precedes it is sent, then the log is replayed from
// the last id sent (covering the gap), then what follows (replayed ids are skipped).
func (c *conn) forward(ctx context.Context, batch []notification.Envelope) error {
	start := 0
	for i, e := range batch {
		if !hub.IsResync(e) {
			continue
		}
		if err := c.send(batch[start:i], true); err != nil {
			c.fail("write", err)
			return err
		}
		start = i + 1
		page, reset, err := c.readAfter(ctx)
		if err == nil {
			err = c.catchUp(ctx, page, reset)
		}
		if err != nil {
			c.fail("resync", err)
			return err
		}
	}
	if err := c.send(batch[start:], true); err != nil {
		c.fail("write", err)
		return err
	}
	return nil
}

// catchUp sends page (or reset) and then reads and sends the log after c.last until
// a short page says it is caught up.
func (c *conn) catchUp(ctx context.Context, page []notification.Envelope, reset *broker.ResetError) error {
	for {
		if reset != nil {
			return c.sendReset(reset)
		}
		c.s.metrics.Replayed.Add(float64(len(page)))
		if err := c.send(page, false); err != nil {
			return err
		}
		if len(page) < replayPage {
			return nil
		}
		var err error
		if page, reset, err = c.readAfter(ctx); err != nil {
			return err
		}
	}
}

// readAfter reads the next page of the log after c.last; a reset is not an error.
func (c *conn) readAfter(ctx context.Context) ([]notification.Envelope, *broker.ResetError, error) {
	page, err := c.s.broker.After(ctx, c.user, c.last.String(), replayPage)
	var reset *broker.ResetError
	if errors.As(err, &reset) {
		return nil, reset, nil
	}
	return page, nil, err
}

// send writes the envelopes newer than c.last and flushes once.
func (c *conn) send(batch []notification.Envelope, live bool) error {
	n := 0
	for _, e := range batch {
		id, err := rediskey.ParseStreamID(e.ID)
		if err != nil || id.Compare(c.last) <= 0 {
			continue // already sent (replay and live overlap), or not ours to trust
		}
		if err := c.w.Event(e.ID, string(e.Type), e.Data); err != nil {
			return err
		}
		c.last = id
		n++
	}
	if n == 0 {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	c.sent += n
	c.s.metrics.Delivered.Add(float64(n))
	if live {
		now := time.Now()
		for _, e := range batch {
			if !e.CreatedAt.IsZero() {
				c.s.metrics.Latency.Observe(now.Sub(e.CreatedAt).Seconds())
			}
		}
	}
	return nil
}

func (c *conn) sendReset(r *broker.ResetError) error {
	data, _ := json.Marshal(map[string]string{"reason": r.Reason, "oldest": r.Oldest})
	if err := c.w.Event(r.Newest, "reset", data); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	c.s.metrics.Resets.Inc()
	c.last, _ = rediskey.ParseStreamID(r.Newest)
	return nil
}

func (c *conn) fail(reason string, err error) {
	c.closed = reason + ": " + err.Error()
	c.s.metrics.ConnErrors.WithLabelValues(reason).Inc()
}

func (s *Server) refuse(w http.ResponseWriter, status int, reason, msg string, retryAfter int) {
	s.metrics.ConnErrors.WithLabelValues(reason).Inc()
	writeError(w, status, msg, retryAfter)
}

func (s *Server) unavailable(ctx context.Context, w http.ResponseWriter, user, what string, err error) {
	s.log.ErrorContext(ctx, "stream refused: broker unavailable", logging.KeyUserID, user, "step", what, logging.KeyError, err.Error())
	s.refuse(w, http.StatusServiceUnavailable, "broker", "temporarily unavailable", 1)
}
