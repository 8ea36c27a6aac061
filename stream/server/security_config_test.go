package server

// The security suite (make test-security): every test here is named TestSecurity_… and
// proves one defence listed in docs/SECURITY.md.
//
// This file: configuration that would weaken a defence is refused at start-up.

import (
	"context"
	"strings"
	"testing"
)

// TestSecurity_JWKSURLChecked (issue 19 item 7): JWT_JWKS_URL is parsed, not
// prefix-matched: https, or http to a loopback host only; no userinfo (with it,
// http://127.0.0.1@other-host/ fetches keys over plain http from other-host); a host.
func TestSecurity_JWKSURLChecked(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"https://issuer.example/.well-known/jwks.json": true,
		"https://issuer.example:8443/jwks":             true,
		"http://127.0.0.1:8080/jwks":                   true,
		"http://localhost/jwks":                        true,
		"http://[::1]:9000/jwks":                       true,
		"http://127.0.0.1@other-host/":                 false,
		"http://127.0.0.1:80@other-host/jwks":          false,
		"https://user:pass@issuer.example/jwks":        false,
		"http://127.0.0.1.evil.example/jwks":           false,
		"http://localhost.evil.example/jwks":           false,
		"http://issuer.example/jwks":                   false,
		"https://":                                     false,
		"https:///jwks":                                false,
		"https:issuer.example/jwks":                    false,
		"//issuer.example/jwks":                        false,
		"ftp://issuer.example/jwks":                    false,
		"issuer.example/jwks":                          false,
		"https://issuer.example/jwks\x7f":              false,
	} {
		_, err := LoadConfig(context.Background(), func(k string) string {
			return map[string]string{"JWT_SECRET": "x", "JWT_JWKS_URL": raw}[k]
		})
		if ok && err != nil {
			t.Errorf("%q refused: %v", raw, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "config: JWT_JWKS_URL:")) {
			t.Errorf("%q accepted (err %v)", raw, err)
		}
		if err != nil && strings.Contains(err.Error(), "other-host") {
			t.Errorf("error repeats the URL: %v", err)
		}
	}
}
