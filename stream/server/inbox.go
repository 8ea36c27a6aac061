package server

import (
	"errors"
	"net/http"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// inboxEvent is the SSE event that tells a user's streams what was seen, archived,
// unarchived or made unread (docs/PROTOCOL.md "Seen and archived"); like `event: read` it
// carries no id: line.
const inboxEvent = "inbox"

// inbox returns the broker's seen and archived state, answering 501 itself when the
// broker has none (both of this repository's brokers have it).
func (s *Server) inbox(w http.ResponseWriter) (broker.Inbox, bool) {
	in, ok := s.broker.(broker.Inbox)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this broker keeps no inbox state", 0)
	}
	return in, ok
}

// markSeen serves POST /api/v1/notifications/seen with {"ids":["…"]} or {"all":true},
// under the same rules as markRead: 204, idempotent, ids not held ignored, malformed
// 400. Every open stream of the user, on every instance, then gets `event: inbox`.
func (s *Server) markSeen(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	in, ok := s.inbox(w)
	if !ok {
		return
	}
	m, ok := decodeMark(w, r, id)
	if !ok {
		return
	}
	err := in.MarkSeen(ctx, id.UserID, m)
	if err == nil {
		s.recordReceipts(ctx, id, m, false)
	}
	s.answerInbox(w, r, id, "mark seen", err)
}

// archive serves POST /api/v1/notifications/archive and …/unarchive (archived false)
// with {"ids":["…"]} (1–200 ids): 204, idempotent; then `event: inbox` as markSeen.
func (s *Server) archive(archived bool) func(http.ResponseWriter, *http.Request, auth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, id auth.Identity) {
		ctx := logging.WithTrace(r.Context(), r.Header)
		in, ok := s.inbox(w)
		if !ok {
			return
		}
		var req struct {
			IDs []string `json:"ids"`
		}
		if !decodeBody(w, r, &req, `body must be {"ids":["…"]}`) {
			return
		}
		s.answerInbox(w, r, id, "archive", in.SetArchived(ctx, id.UserID, streamSources(id)[1:], req.IDs, archived))
	}
}

// markUnread serves POST /api/v1/notifications/unread with {"ids":["…"]} (1–200 ids of
// the caller's logs): undoes a read, whether by id or by a mark of all, of those ids
// only; 204, idempotent, ids not held ignored, malformed 400. Every open stream of the
// user, on every instance, then gets `event: inbox` {"op":"unread","ids":[…]}.
func (s *Server) markUnread(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	in, ok := s.inbox(w)
	if !ok {
		return
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if !decodeBody(w, r, &req, `body must be {"ids":["…"]}`) {
		return
	}
	m := broker.ReadMark{IDs: req.IDs, Logs: streamSources(id)[1:]}
	s.answerInbox(w, r, id, "mark unread", in.MarkUnread(ctx, id.UserID, m))
}

// answerInbox answers a change of inbox state: 400 for input the caller must fix, 503
// when the store failed, else 204.
func (s *Server) answerInbox(w http.ResponseWriter, r *http.Request, id auth.Identity, what string, err error) {
	if errors.Is(err, broker.ErrInvalid) {
		writeError(w, http.StatusBadRequest, err.Error(), 0)
		return
	}
	if err != nil {
		s.unavailable(logging.WithTrace(r.Context(), r.Header), w, id.UserID, what, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
