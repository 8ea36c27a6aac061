package server

import (
	"net/http"
	"time"

	"github.com/vividly-edu/notifications/stream/internal/admission"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// Admission has two limiters, and neither treats a school behind one address as one
// client (docs/SECURITY.md, "Admission"):
//
//   - failures, per client address (IPv6 by /64): failed authentication that takes
//     forging or guessing. An address whose budget is spent gets 429 before any
//     credential is looked at. Honest failures — no credential, a genuine token that
//     expired overnight, a spent ticket EventSource reconnects with — are not counted.
//   - users, per authenticated user: every authenticated API request, and every stream
//     or room socket opened with a token or cookie. A stream opened with a ticket is
//     not counted twice: its ticket was.

// gate runs before a request's credential is looked at. It refuses a browser request
// made by another site's page (403; such requests are never counted, so a hostile page
// cannot spend a school's failure budget from its students' browsers), and a request
// from an address whose failure budget is spent (429 with Retry-After). It returns the
// client's address key.
func (s *Server) gate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.foreignPage(r) {
		s.refuse(w, http.StatusForbidden, "cross_site", "cross-site request refused", 0)
		return "", false
	}
	addr := admission.AddrKey(admission.ClientIP(r, s.cfg.TrustedProxyHops))
	if blocked, wait := s.failures.Blocked(addr); blocked {
		s.refuse(w, http.StatusTooManyRequests, "rate_limited", "too many failed attempts from this address", retryAfter(wait))
		return "", false
	}
	return addr, true
}

// foreignPage reports a request a browser sent for another site's page (Fetch
// Metadata: cross-site or same-site) from an origin not in ALLOWED_ORIGINS: an <img>,
// <script>, form or navigation no app of ours makes. Requests without the header
// (non-browser clients, older browsers) are not affected, nor are this site's own
// pages (same-origin) or a typed URL (none).
func (s *Server) foreignPage(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return !s.origins[r.Header.Get("Origin")]
	}
	return false
}

// failed counts a failed authentication against addr, unless an honest client could
// have made it (auth.Honest).
func (s *Server) failed(addr string, err error) {
	if addr == "" || auth.Honest(err) {
		return
	}
	s.metrics.AuthFailures.Inc()
	s.failures.Allow(addr)
}

// admitUser takes a token from user's bucket; it answers 429 itself when there is none.
func (s *Server) admitUser(w http.ResponseWriter, user string) bool {
	ok, wait := s.users.Allow(user)
	if !ok {
		s.refuse(w, http.StatusTooManyRequests, "user_rate_limited", "too many requests for this user", retryAfter(wait))
	}
	return ok
}

// apiHandler serves an authenticated API route for the token's user. It writes its
// success itself and returns anything else as an error, which api answers (respond):
// it must not have written to w then.
type apiHandler func(w http.ResponseWriter, r *http.Request, id auth.Identity) error

// api serves an authenticated API route under admission: the gate, the Bearer token
// (failures counted against the address), then the user's rate limit; then h, whose
// error respond answers.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		addr, ok := s.gate(w, r)
		if !ok {
			return
		}
		id, ok := s.bearer(w, r, addr)
		if !ok || !s.admitUser(w, id.UserID) {
			return
		}
		if err := h(w, r, id); err != nil {
			s.respond(r.Context(), w, r.Pattern, id.UserID, err)
		}
	}
}

// retryAfter is a Retry-After in whole seconds, at least 1.
func retryAfter(wait time.Duration) int {
	return int(min(wait, time.Hour)/time.Second) + 1
}
