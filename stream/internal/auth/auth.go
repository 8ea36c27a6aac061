// Package auth verifies the JWTs the existing backend issues and extracts the user.
package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/shared/notification"
)

// Sentinel errors; every one maps to 401.
var (
	ErrMissing = errors.New("missing credentials")
	ErrInvalid = errors.New("invalid token")
	ErrExpired = errors.New("token expired")
)

// Leeway tolerates clock skew between the token issuer and us.
const Leeway = 30 * time.Second

// WeakSecret reports a secret shorter than HS256's 256-bit key size. It is accepted —
// the backend's tokens must verify — but worth a warning at start-up.
func WeakSecret(secret []byte) bool { return len(secret) < 32 }

// Identity is an authenticated user.
type Identity struct {
	UserID  string
	Expires time.Time
}

// Verifier checks HS256 tokens. Safe for concurrent use.
type Verifier struct {
	key       []byte
	userClaim string
	parser    *jwt.Parser
}

// Options configure a Verifier; empty Issuer/Audience are not checked.
type Options struct {
	Secret    []byte
	Issuer    string
	Audience  string
	UserClaim string
}

// NewVerifier returns a verifier that accepts only HS256 tokens signed with opts.Secret,
// with an exp claim, not before their nbf.
func NewVerifier(opts Options) (*Verifier, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("config: JWT_SECRET is required")
	}
	if opts.UserClaim == "" {
		opts.UserClaim = "sub"
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256"}), // rejects alg none and any HS/RS confusion
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	return &Verifier{key: opts.Secret, userClaim: opts.UserClaim, parser: jwt.NewParser(popts...)}, nil
}

// Verify checks token and returns who it belongs to.
func (v *Verifier) Verify(token string) (Identity, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return v.key, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Identity{}, ErrExpired
	case err != nil:
		return Identity{}, fmt.Errorf("%w: %s", ErrInvalid, reason(err))
	}
	user, _ := claims[v.userClaim].(string)
	if !notification.ValidUserID(user) {
		return Identity{}, fmt.Errorf("%w: claim %q is not a valid user id", ErrInvalid, v.userClaim)
	}
	exp, _ := claims.GetExpirationTime() // required by the parser
	return Identity{UserID: user, Expires: exp.Time}, nil
}

// reason names the failed check without echoing the token.
func reason(err error) string {
	for _, e := range []error{jwt.ErrTokenMalformed, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenNotValidYet,
		jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidAudience, jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenUnverifiable} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "verification failed"
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", ErrMissing
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", fmt.Errorf("%w: Authorization must be \"Bearer <token>\"", ErrInvalid)
	}
	return token, nil
}
