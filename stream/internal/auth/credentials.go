package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind says where a credential came from.
type Kind int

// Credential sources, in the order they are looked for.
const (
	Bearer Kind = iota + 1 // Authorization: Bearer <JWT>
	Ticket                 // ?ticket=<single-use ticket>
	Cookie                 // HttpOnly cookie holding the backend's JWT
)

// Credential is what a request presented.
type Credential struct {
	Kind  Kind
	Value string
}

// ErrTokenInURL refuses a JWT in the query string: URLs are logged by every proxy.
var ErrTokenInURL = fmt.Errorf("%w: tokens are not accepted in the URL; get a ticket from POST /api/v1/notifications/tickets", ErrInvalid)

// urlTokenParams are query parameters that would carry a long-lived token.
var urlTokenParams = []string{"token", "access_token", "jwt", "id_token", "auth", "authorization", "bearer"}

// Extract finds the request's credential: the Authorization header, else a ticket in the
// query, else the cookie named cookieName (empty disables cookies). A token in the URL
// is refused outright, whatever else the request carries.
func Extract(r *http.Request, cookieName string) (Credential, error) {
	q := r.URL.Query()
	for _, p := range urlTokenParams {
		for k := range q {
			if strings.EqualFold(k, p) {
				return Credential{}, ErrTokenInURL
			}
		}
	}
	if r.Header.Get("Authorization") != "" {
		tok, err := BearerToken(r)
		return Credential{Kind: Bearer, Value: tok}, err
	}
	if ts, ok := q["ticket"]; ok {
		if len(ts) != 1 || ts[0] == "" {
			return Credential{}, fmt.Errorf("%w: exactly one ticket parameter is allowed", ErrInvalid)
		}
		if strings.Count(ts[0], ".") == 2 { // a JWT passed off as a ticket
			return Credential{}, ErrTokenInURL
		}
		return Credential{Kind: Ticket, Value: ts[0]}, nil
	}
	if cookieName != "" {
		c, err := r.Cookie(cookieName)
		if err == nil && len(c.Value) > MaxTokenBytes {
			return Credential{}, ErrTooLarge
		}
		if err == nil && c.Value != "" {
			return Credential{Kind: Cookie, Value: c.Value}, nil
		}
		if err != nil && !errors.Is(err, http.ErrNoCookie) {
			return Credential{}, fmt.Errorf("%w: malformed cookie", ErrInvalid)
		}
	}
	return Credential{}, ErrMissing
}
