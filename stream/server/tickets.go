package server

import (
	"errors"
	"io"
	"net/http"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// issueTicket serves POST /api/v1/notifications/tickets (under api: admission and
// the Bearer JWT): the token's user gets a single-use ticket for the stream URL.
func (s *Server) issueTicket(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		if tooLarge(err) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body over 64 KiB", 0)
			return
		}
		writeError(w, http.StatusBadRequest, "unreadable body", 0)
		return
	}
	t, ttl, err := s.tickets.Issue(ctx, id)
	switch {
	case errors.Is(err, auth.ErrExpired):
		s.refuse(w, http.StatusUnauthorized, "auth", "token expires too soon for a ticket", 0)
		return
	case err != nil:
		s.unavailable(ctx, w, id.UserID, "issue ticket", err)
		return
	}
	s.log.InfoContext(ctx, "ticket issued", logging.KeyUserID, id.UserID)
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": t, "expires_in": int(ttl.Seconds())})
}
