package server

import (
	"net/http"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// inboxEvent is the SSE event that tells a user's streams what was seen, archived,
// unarchived or made unread (docs/PROTOCOL.md "Seen and archived"); like `event: read` it
// carries no id: line.
const inboxEvent = "inbox"

// inbox returns the broker's seen and archived state, or a 501 when the broker has
// none (both of this repository's brokers have it).
func (s *Server) inbox() (broker.Inbox, error) {
	in, ok := s.broker.(broker.Inbox)
	if !ok {
		return nil, &apiError{status: http.StatusNotImplemented, msg: "this broker keeps no inbox state"}
	}
	return in, nil
}

// markSeen serves POST /api/v1/notifications/seen with {"ids":["…"]} or {"all":true},
// under the same rules as markRead: 204, idempotent, ids not held ignored, malformed
// 400. Every open stream of the user, on every instance, then gets `event: inbox`.
func (s *Server) markSeen(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	in, err := s.inbox()
	if err != nil {
		return err
	}
	m, err := decodeMark(r, id)
	if err != nil {
		return err
	}
	if err := in.MarkSeen(r.Context(), id.UserID, m); err != nil {
		return failed("mark seen", err)
	}
	s.recordReceipts(r.Context(), id, m, false)
	noContent(w)
	return nil
}

// archive serves POST /api/v1/notifications/archive and …/unarchive (archived false)
// with {"ids":["…"]} (1–200 ids): 204, idempotent; then `event: inbox` as markSeen.
func (s *Server) archive(archived bool) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
		in, err := s.inbox()
		if err != nil {
			return err
		}
		var req struct {
			IDs []string `json:"ids"`
		}
		if err := decodeBody(r, &req, `body must be {"ids":["…"]}`); err != nil {
			return err
		}
		if err := in.SetArchived(r.Context(), id.UserID, streamSources(id)[1:], req.IDs, archived); err != nil {
			return failed("archive", err)
		}
		noContent(w)
		return nil
	}
}

// markUnread serves POST /api/v1/notifications/unread with {"ids":["…"]} (1–200 ids of
// the caller's logs): undoes a read, whether by id or by a mark of all, of those ids
// only; 204, idempotent, ids not held ignored, malformed 400. Every open stream of the
// user, on every instance, then gets `event: inbox` {"op":"unread","ids":[…]}.
func (s *Server) markUnread(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	in, err := s.inbox()
	if err != nil {
		return err
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := decodeBody(r, &req, `body must be {"ids":["…"]}`); err != nil {
		return err
	}
	m := broker.ReadMark{IDs: req.IDs, Logs: streamSources(id)[1:]}
	if err := in.MarkUnread(r.Context(), id.UserID, m); err != nil {
		return failed("mark unread", err)
	}
	noContent(w)
	return nil
}

// noContent answers a change of state that succeeded: 204, never cached.
func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
