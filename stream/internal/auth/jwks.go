package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// NewJWKS returns a key resolver for the JWKS at url, cached and refreshed hourly in the
// background until ctx ends. A token with an unknown kid triggers a refresh, at most one
// every refreshEvery, so forged kids cannot make us hammer the issuer.
func NewJWKS(ctx context.Context, url string, refreshEvery time.Duration) (jwt.Keyfunc, error) {
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		RefreshUnknownKID: rate.NewLimiter(rate.Every(refreshEvery), 1),
		RateLimitWaitMax:  time.Second, // a request never waits long for the limiter
		HTTPTimeout:       5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("config: JWT_JWKS_URL: %w", err)
	}
	return k.Keyfunc, nil
}
