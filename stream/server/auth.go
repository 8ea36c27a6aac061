package server

import (
	"errors"
	"net/http"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/admission"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

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

// bearer authenticates a request by its Authorization header alone; it answers 401
// itself on failure.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (auth.Identity, bool) {
	tok, err := auth.BearerToken(r)
	if err == nil {
		var id auth.Identity
		if id, err = s.verifier.Verify(tok); err == nil {
			return id, true
		}
	}
	s.refuse(w, http.StatusUnauthorized, "auth", err.Error(), 0)
	return auth.Identity{}, false
}

// admit applies the per-IP rate limit; it answers 429 itself when over it.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := s.limiter.Allow(admission.ClientIP(r, s.cfg.TrustedProxyHops))
	if !ok {
		s.refuse(w, http.StatusTooManyRequests, "rate_limited", "too many requests", int(wait.Seconds())+1)
	}
	return ok
}
