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
func (s *Server) issueTicket(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	ctx := r.Context()
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		if tooLarge(err) {
			return errBodyTooLarge
		}
		return errUnreadable
	}
	t, ttl, err := s.tickets.Issue(ctx, id)
	switch {
	case errors.Is(err, auth.ErrExpired):
		return &apiError{status: http.StatusUnauthorized, reason: "auth", msg: "token expires too soon for a ticket"}
	case err != nil:
		return failed("issue ticket", err)
	}
	s.log.InfoContext(ctx, "ticket issued", logging.KeyUserID, id.UserID)
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": t, "expires_in": int(ttl.Seconds())})
	return nil
}
