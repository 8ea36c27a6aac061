package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// iamScope is the scope of the access token Memorystore's IAM authentication takes as
// the AUTH password.
const iamScope = "https://www.googleapis.com/auth/cloud-platform"

// iamConnLifetime bounds a pooled connection's life under IAM authentication: an access
// token lives an hour, so a connection older than this re-authenticates with a fresh
// one when it is replaced. (A pub/sub connection is not pooled; if Memorystore ends it
// when its token expires, the session replaces it and the streams replay.)
const iamConnLifetime = 45 * time.Minute

// tokenSource is where IAM authentication gets its tokens (tests replace it).
var tokenSource = func(ctx context.Context) (oauth2.TokenSource, error) {
	return google.DefaultTokenSource(ctx, iamScope)
}

// iamCredentials returns go-redis' credentials provider for IAM authentication: the
// access token of Application Default Credentials as the password of the default user.
// The token source caches the token until shortly before it expires.
func iamCredentials() func(ctx context.Context) (string, string, error) {
	var (
		once sync.Once
		ts   oauth2.TokenSource
		err  error
	)
	return func(ctx context.Context) (string, string, error) {
		once.Do(func() {
			// The token source outlives this call's context: it refreshes on later ones.
			ts, err = tokenSource(context.WithoutCancel(ctx))
		})
		if err != nil {
			return "", "", fmt.Errorf("redis IAM auth: application default credentials: %w", err)
		}
		tok, terr := ts.Token()
		if terr != nil {
			return "", "", fmt.Errorf("redis IAM auth: access token: %w", terr)
		}
		if tok.AccessToken == "" {
			return "", "", errors.New("redis IAM auth: empty access token")
		}
		return "", tok.AccessToken, nil
	}
}
