package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// readEvent is the SSE event that tells a user's streams what was read.
const readEvent = "read"

// markRead serves POST /api/v1/notifications/read (under api: admission, the Bearer
// JWT and the per-user rate limit) with {"ids":["…"]} (1–200 ids of the caller's log)
// or {"all":true}: 204, idempotent. The user is the token's; nothing in the body can
// name another. Ids the log does not hold (trimmed since the client saw them, or never
// issued) are ignored rather than refused, so a client racing the log's trimming is
// not told it erred; a malformed id is 400. Every open stream of the user, on every
// instance, then gets `event: read` (see conn.control).
func (s *Server) markRead(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	m, err := decodeMark(r, id)
	if err != nil {
		return err
	}
	if err := s.broker.MarkRead(r.Context(), id.UserID, m); err != nil {
		return failed("mark read", err) // broker.ErrInvalid: 400 with its text
	}
	s.recordReceipts(r.Context(), id, m, true)
	noContent(w)
	return nil
}

// decodeBody reads one JSON object into v, refusing unknown fields and anything after
// it; its error is a 413 (over 64 KiB, see limitBody) or a 400 (with hint).
func decodeBody(r *http.Request, v any, hint string) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err == nil {
		// Read to the end so a body over the limit is 413 however it is shaped.
		_, err = io.Copy(io.Discard, r.Body)
	}
	switch {
	case err == nil:
		return nil
	case tooLarge(err):
		return errBodyTooLarge
	}
	return badRequest(hint)
}

// appendRead appends the stored notification JSON data with "read" added as its last
// field. data is a JSON object (as the brokers store it); anything else is appended
// as it is.
func appendRead(out, data []byte, read bool) []byte {
	if len(data) < 2 || data[len(data)-1] != '}' {
		return append(out, data...)
	}
	out = append(out, data[:len(data)-1]...)
	if len(data) > 2 {
		out = append(out, ',')
	}
	if read {
		return append(out, `"read":true}`...)
	}
	return append(out, `"read":false}`...)
}

// control handles a control message taken from the stream's queue, in its place among
// the notifications: a read mark becomes an `event: read` frame with no id: line (it is
// no log position, so the client's Last-Event-ID stays where it is), and so does a
// seen or archive change (`event: inbox`); a preference change
// applies to every notification after it.
func (c *conn) control(ctl broker.Control) error {
	switch ctl.Kind {
	case broker.ControlRead:
		if err := c.w.Event("", readEvent, ctl.Data); err != nil {
			return err
		}
		c.unflushed = true
	case broker.ControlInbox:
		if err := c.w.Event("", inboxEvent, ctl.Data); err != nil {
			return err
		}
		c.unflushed = true
	case broker.ControlPrefs:
		p, err := broker.ParsePrefs(ctl.Data)
		if err != nil {
			c.s.log.WarnContext(c.ctx, "ignoring unreadable preferences change", logging.KeyUserID, c.user,
				logging.KeyError, err.Error())
			return nil
		}
		c.prefs = p
	}
	return nil
}

// loadPrefs reads the user's preferences: when the stream opens (after joining the
// hub, so a change made since arrives as a control) and after a resync (changes sent
// while the live connection was down are lost).
func (c *conn) loadPrefs(ctx context.Context) error {
	p, err := c.s.broker.Preferences(ctx, c.user)
	if err != nil {
		return err
	}
	c.prefs = p
	return nil
}

// skip passes over a muted notification: it stays in history and is not sent, but the
// stream's position moves past it, and the client is told so (skipped's id-only frame,
// written at the next flush unless a later event carries a newer id) — a resume must
// neither resend it nor, once the type is unmuted, replay it.
func (c *conn) skip(key string, pos rediskey.StreamID) {
	c.pos[key], c.idOwed = pos, true
}

// flushQueued writes the id-only frame a skipped notification left owing, and flushes
// if anything is queued: n notification frames, control frames, that id.
func (c *conn) flushQueued(n int) error {
	if c.idOwed {
		if err := c.w.ID(c.pos.String()); err != nil {
			return err
		}
		c.idOwed, c.unflushed = false, true
	}
	if n == 0 && !c.unflushed {
		return nil
	}
	c.unflushed = false
	return c.flushSent(n)
}

// Control passes a control message on to the hub. Implements broker.Sink (with
// serve.go's Deliver and Resync).
func (k sink) Control(userID string, c broker.Control) { k.control(userID, c) }

// decodeMark reads the body of a mark (read, seen): {"ids":["…"]} or {"all":true}, and
// the logs it covers, the broadcast and group logs the token reads. Its error is a 400
// for anything else.
func decodeMark(r *http.Request, id auth.Identity) (broker.ReadMark, error) {
	var req struct {
		IDs *[]string `json:"ids"`
		All *bool     `json:"all"`
	}
	const shape = `body must be {"ids":["…"]} or {"all":true}`
	if err := decodeBody(r, &req, shape); err != nil {
		return broker.ReadMark{}, err
	}
	var m broker.ReadMark
	switch {
	case req.IDs != nil && req.All != nil:
		return m, badRequest(`give "ids" or "all", not both`)
	case req.All != nil && !*req.All:
		return m, badRequest(`"all" must be true`)
	case req.All != nil:
		m.All = true
	case req.IDs != nil:
		m.IDs = append([]string{}, *req.IDs...) // non-nil even for []: ids were given
	default:
		return m, badRequest(shape)
	}
	m.Logs = streamSources(id)[1:]
	return m, nil
}
