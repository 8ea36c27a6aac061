package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

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
