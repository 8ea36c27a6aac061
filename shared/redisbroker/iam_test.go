package redisbroker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/vividly-edu/notifications/shared/config"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/redistest"
)

// TestIAMAuthSendsTheAccessToken: with REDIS_IAM_AUTH each connection authenticates with
// the current access token as the password (here a server whose requirepass is the
// token, as Memorystore checks it against IAM); a stale token is refused, and IAM with a
// password set is a configuration error.
func TestIAMAuthSendsTheAccessToken(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: s.Addr})
	if err := admin.ConfigSet(ctx, "requirepass", "ya29.token-1").Err(); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	token := "ya29.token-1"
	redisbroker.SetTokenSource(func(context.Context) (oauth2.TokenSource, error) {
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}), nil
	})
	connect := func() error {
		rdb, err := redisbroker.NewClient(config.Redis{Addr: s.Addr, IAMAuth: true})
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		return rdb.Ping(ctx).Err()
	}
	if err := connect(); err != nil {
		t.Fatalf("with the current token: %v", err)
	}
	token = "ya29.token-0"
	if err := connect(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("with a stale token: %v, want WRONGPASS", err)
	}
	if _, err := redisbroker.NewClient(config.Redis{Addr: s.Addr, IAMAuth: true, Password: "x"}); err == nil ||
		!strings.Contains(err.Error(), "REDIS_IAM_AUTH") {
		t.Fatalf("IAM and a password: %v", err)
	}
}
