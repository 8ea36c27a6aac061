// Package auth verifies the JWTs the existing backend issues and extracts the user.
package auth

import (
	"slices"

	"errors"
	"fmt"
	"github.com/vividly-edu/notifications/shared/broker"
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
	// ErrNotYetValid is a correctly signed token whose nbf is still ahead (past Leeway).
	ErrNotYetValid = errors.New("token not valid yet")
	// ErrTooLarge is a credential over MaxTokenBytes, refused before it is parsed.
	ErrTooLarge = fmt.Errorf("%w: credential over %d bytes", ErrInvalid, MaxTokenBytes)
)

// MaxTokenBytes bounds a credential (Bearer token or cookie value). The backend's
// tokens are well under 2 KiB; a bigger one is refused without being decoded, so a
// forged 400 KB token costs a length check, not a base64 and JSON parse.
const MaxTokenBytes = 8 << 10

// Honest reports whether err is a failure an honest client runs into: no credential
// at all, or a correctly signed token outside its validity window (a laptop waking with
// yesterday's token, a skewed clock). Every other failure of a JWT — malformed,
// oversized or badly signed, a wrong algorithm, issuer or audience — takes forging or
// guessing, and admission counts it against the client's address.
func Honest(err error) bool {
	return errors.Is(err, ErrMissing) || errors.Is(err, ErrExpired) || errors.Is(err, ErrNotYetValid)
}

// Leeway tolerates clock skew between the token issuer and us on nbf: a token the
// issuer's slightly fast clock dates a few seconds ahead is accepted. It does not extend
// exp: a token past its exp cannot hold a stream open (the stream ends at exp), so
// accepting one would open a stream only to close it at once, and a client with a
// cached token would reconnect in a loop for the whole leeway. Expired is refused (401).
const Leeway = 30 * time.Second

// WeakSecret reports a secret shorter than HS256's 256-bit key size. It is accepted —
// the backend's tokens must verify — but worth a warning at start-up.
func WeakSecret(secret []byte) bool { return len(secret) < 32 }

// Identity is an authenticated user.
type Identity struct {
	UserID  string
	Expires time.Time
	// Groups are the groups the token says the user belongs to (its groups claim):
	// valid group ids, sorted, without duplicates, at most broker.MaxGroups. The stream
	// receives these groups' notifications.
	Groups []string
	// Teacher is set when the token's roles claim lists "teacher": in a room only a
	// teacher may change the shared state.
	Teacher bool
}

// Verifier checks tokens: HS256 with the shared secret, RS256/ES256 with keys from a
// JWKS. Each algorithm is accepted only from its own key source, so an HS256 token can
// never be checked against a public key (algorithm confusion). Safe for concurrent use.
type Verifier struct {
	secret      []byte
	jwks        jwt.Keyfunc
	userClaim   string
	groupsClaim string
	rolesClaim  string
	parser      *jwt.Parser
}

// Options configure a Verifier; empty Issuer/Audience are not checked. At least one of
// Secret and JWKS is required.
type Options struct {
	Secret []byte
	// JWKS resolves RS256/ES256 keys by kid (keyfunc over JWT_JWKS_URL).
	JWKS      jwt.Keyfunc
	Issuer    string
	Audience  string
	UserClaim string
	// GroupsClaim names the claim listing the user's groups (default "groups").
	GroupsClaim string
	// RolesClaim names the claim listing the user's roles (default "roles").
	RolesClaim string
}

// NewVerifier returns a verifier for the configured key sources. Tokens must carry exp
// and must not be used before nbf (both with Leeway).
func NewVerifier(opts Options) (*Verifier, error) {
	var algs []string
	if len(opts.Secret) > 0 {
		algs = append(algs, "HS256")
	}
	if opts.JWKS != nil {
		algs = append(algs, "RS256", "ES256")
	}
	if len(algs) == 0 {
		return nil, errors.New("config: JWT_SECRET or JWT_JWKS_URL is required")
	}
	if opts.UserClaim == "" {
		opts.UserClaim = "sub"
	}
	if opts.GroupsClaim == "" {
		opts.GroupsClaim = "groups"
	}
	if opts.RolesClaim == "" {
		opts.RolesClaim = "roles"
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(algs), // rejects alg none and anything not configured
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	return &Verifier{secret: opts.Secret, jwks: opts.JWKS, userClaim: opts.UserClaim, groupsClaim: opts.GroupsClaim,
		rolesClaim: opts.RolesClaim,
		parser:     jwt.NewParser(popts...)}, nil
}

// key picks the key for token by its algorithm family.
func (v *Verifier) key(token *jwt.Token) (any, error) {
	switch token.Method.Alg() {
	case "HS256":
		return v.secret, nil
	case "RS256", "ES256":
		return v.jwks(token)
	}
	return nil, jwt.ErrTokenUnverifiable
}

// Verify checks token and returns who it belongs to. The time checks (exp, nbf) run
// only once the signature is good, so ErrExpired and ErrNotYetValid name genuine tokens.
func (v *Verifier) Verify(token string) (Identity, error) {
	if len(token) > MaxTokenBytes {
		return Identity{}, ErrTooLarge
	}
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, v.key)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired) && !forged(err):
		return Identity{}, ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet) && !forged(err):
		return Identity{}, ErrNotYetValid
	case err != nil:
		return Identity{}, fmt.Errorf("%w: %s", ErrInvalid, reason(err))
	}
	user, _ := claims[v.userClaim].(string)
	if !notification.ValidUserID(user) {
		return Identity{}, fmt.Errorf("%w: claim %q is not a valid user id", ErrInvalid, v.userClaim)
	}
	exp, _ := claims.GetExpirationTime() // required by the parser
	if !time.Now().Before(exp.Time) {
		return Identity{}, ErrExpired // within the parser's leeway, but past exp (see Leeway)
	}
	return Identity{UserID: user, Expires: exp.Time, Groups: Groups(claims[v.groupsClaim]),
		Teacher: HasRole(claims[v.rolesClaim], RoleTeacher)}, nil
}

// forged reports a claims error that is more than a time window: a wrong issuer or
// audience, or a missing required claim, alongside nbf.
func forged(err error) bool {
	return errors.Is(err, jwt.ErrTokenInvalidIssuer) || errors.Is(err, jwt.ErrTokenInvalidAudience) ||
		errors.Is(err, jwt.ErrTokenRequiredClaimMissing)
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
	if len(token) > MaxTokenBytes {
		return "", ErrTooLarge
	}
	return token, nil
}

// Groups reads a groups claim: an array of group ids. What cannot name a group (not a
// string, not a valid id) is left out rather than failing the token — the user still
// gets their own notifications — and so is everything past broker.MaxGroups (after
// sorting, so the same token always gives the same groups).
func Groups(claim any) []string {
	list, _ := claim.([]any)
	var out []string
	for _, v := range list {
		if g, ok := v.(string); ok && broker.ValidGroupID(g) {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return out[:min(len(out), broker.MaxGroups)]
}

// RoleTeacher is the role that may steer a room's shared state.
const RoleTeacher = "teacher"

// HasRole reports whether a roles claim (an array of strings, or one string) lists
// role. Anything else in the claim is ignored: a malformed claim grants nothing.
func HasRole(claim any, role string) bool {
	switch v := claim.(type) {
	case string:
		return v == role
	case []any:
		for _, r := range v {
			if r == role {
				return true
			}
		}
	}
	return false
}
