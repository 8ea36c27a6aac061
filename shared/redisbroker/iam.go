package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// iamScope is the scope of the access token Memorystore's IAM authentication takes as
// the AUTH password.
const iamScope = "https://www.googleapis.com/auth/cloud-platform"

// tokenSource is where IAM authentication gets its tokens (tests replace it).
var tokenSource = func(ctx context.Context) (oauth2.TokenSource, error) {
	return google.DefaultTokenSource(ctx, iamScope)
}

// iamCredentials returns go-redis' credentials provider for IAM authentication: the
// access token of Application Default Credentials as the password of the default user.
// The token source caches the token until shortly before it expires. A token is needed
// only when a connection opens: an authenticated connection stays valid after its token
// expires (cloud.google.com/memorystore/docs/cluster/about-iam-auth), and Memorystore
// limits the rate of new IAM connections, so connections are not renewed on a timer.
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
