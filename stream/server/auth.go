package server

import (
	"errors"
	"net/http"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// authenticate resolves the request's credential to an identity, or says which status
// to refuse it with. addr is the client's admission key: a failure that takes forging
// or guessing is counted against it (see failed). kind is where the credential came
// from (0 when there was none).
func (s *Server) authenticate(r *http.Request, addr string) (auth.Identity, auth.Kind, int, error) {
	cred, err := auth.Extract(r, s.cfg.AuthCookie)
	if err != nil {
		s.failed(addr, err)
		return auth.Identity{}, 0, http.StatusUnauthorized, err
	}
	switch cred.Kind {
	case auth.Ticket:
		id, err := s.tickets.Redeem(r.Context(), cred.Value)
		if err != nil && !errors.Is(err, ticket.ErrInvalid) {
			s.log.ErrorContext(r.Context(), "ticket redemption failed", logging.KeyError, err.Error())
			return id, cred.Kind, http.StatusServiceUnavailable, errors.New("temporarily unavailable")
		}
		if err != nil {
			// A well-formed ticket that is unknown is what EventSource presents when it
			// reconnects by itself to the URL it opened: spent then, or expired since (a
			// stream outlives its ticket). A classroom's tabs all do that when their
			// instance dies, so only a malformed ticket is charged to the address;
			// guessing 256 bits is hopeless at any rate.
			if _, perr := ticket.Parse(cred.Value); perr != nil {
				s.failed(addr, err)
			}
			return id, cred.Kind, http.StatusUnauthorized, err
		}
		return id, cred.Kind, 0, nil
	case auth.Cookie:
		// A cookie rides along on any request the browser makes, whichever site's page
		// made it: only this site's own pages and the listed origins may use it.
		if !s.cookieAllowed(r) {
			return auth.Identity{}, cred.Kind, http.StatusForbidden, errors.New("origin not allowed")
		}
	}
	id, err := s.verify(cred.Value)
	if err != nil {
		s.failed(addr, err)
		return id, cred.Kind, http.StatusUnauthorized, err
	}
	return id, cred.Kind, 0, nil
}

// cookieAllowed reports whether a cookie-authenticated request comes from a page that
// may use the cookie: one of ALLOWED_ORIGINS (compared exactly, scheme included), or
// this site itself as the browser attests it (Sec-Fetch-Site: same-origin). A request
// with neither — what an <img> or <script> tag on another site sends in a browser
// without Fetch Metadata — is refused: a hostile page must not spend the student's
// stream cap. (Browsers have sent Sec-Fetch-Site since 2020–2023: Chrome 76, Firefox
// 90, Safari 16.4.)
func (s *Server) cookieAllowed(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && s.origins[o] {
		return true
	}
	return r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// verify checks a JWT, counting the check (the counter proves what is refused before it).
func (s *Server) verify(token string) (auth.Identity, error) {
	s.metrics.TokenChecks.Inc()
	return s.verifier.Verify(token)
}

// bearer authenticates a request by its Authorization header alone; it answers 401
// itself on failure.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request, addr string) (auth.Identity, bool) {
	tok, err := auth.BearerToken(r)
	if err == nil {
		var id auth.Identity
		if id, err = s.verify(tok); err == nil {
			return id, true
		}
	}
	s.failed(addr, err)
	s.refuse(w, http.StatusUnauthorized, "auth", err.Error(), 0)
	return auth.Identity{}, false
}
