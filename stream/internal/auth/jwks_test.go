package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a JWKS whose keys tests can change.
type jwksServer struct {
	mu   sync.Mutex
	keys []map[string]string
	hits int
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits++
	json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
}

func (s *jwksServer) add(k map[string]string) {
	s.mu.Lock()
	s.keys = append(s.keys, k)
	s.mu.Unlock()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]string {
	raw, err := k.Bytes() // 0x04 || X || Y, each 32 bytes on P-256
	if err != nil {
		panic(err)
	}
	return map[string]string{"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
		"x": b64(raw[1:33]), "y": b64(raw[33:])}
}

func signed(t *testing.T, m jwt.SigningMethod, kid string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "u-42", "exp": time.Now().Add(time.Hour).Unix()})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rotated, _ := rsa.GenerateKey(rand.Reader, 2048)
	impostor, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	js := &jwksServer{}
	js.add(rsaJWK("r1", &rsaKey.PublicKey))
	js.add(ecJWK("e1", &ecKey.PublicKey))
	srv := httptest.NewServer(js)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kf, err := NewJWKS(ctx, srv.URL, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	jwksOnly, _ := NewVerifier(Options{JWKS: kf})
	both, _ := NewVerifier(Options{JWKS: kf, Secret: secret})
	secretOnly, _ := NewVerifier(Options{Secret: secret})

	pub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	for _, tc := range []struct {
		name  string
		v     *Verifier
		token string
		ok    bool
	}{
		{"RS256", jwksOnly, signed(t, jwt.SigningMethodRS256, "r1", rsaKey), true},
		{"ES256", jwksOnly, signed(t, jwt.SigningMethodES256, "e1", ecKey), true},
		{"RS256 with both sources", both, signed(t, jwt.SigningMethodRS256, "r1", rsaKey), true},
		{"HS256 with both sources", both, signed(t, jwt.SigningMethodHS256, "", secret), true},
		{"RS256 signed by an impostor", jwksOnly, signed(t, jwt.SigningMethodRS256, "r1", impostor), false},
		{"ES256 token naming the RSA kid", jwksOnly, signed(t, jwt.SigningMethodES256, "r1", ecKey), false},
		{"HS256 keyed with the RSA public key, JWKS only", jwksOnly, signed(t, jwt.SigningMethodHS256, "r1", pubPEM), false},
		{"HS256 keyed with the RSA public key, both", both, signed(t, jwt.SigningMethodHS256, "r1", pubPEM), false},
		{"HS256 when only a JWKS is configured", jwksOnly, signed(t, jwt.SigningMethodHS256, "", secret), false},
		{"RS256 when only a secret is configured", secretOnly, signed(t, jwt.SigningMethodRS256, "r1", rsaKey), false},
		{"RS384 is not allowed", jwksOnly, signed(t, jwt.SigningMethodRS384, "r1", rsaKey), false},
	} {
		id, err := tc.v.Verify(tc.token)
		if tc.ok && (err != nil || id.UserID != "u-42") {
			t.Errorf("%s: Verify = %+v, %v", tc.name, id, err)
		}
		if !tc.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Verify = %v, want ErrInvalid", tc.name, err)
		}
	}

	// Key rotation: a token with a new kid verifies once the JWKS lists it, through the
	// rate-limited refresh on an unknown kid.
	js.add(rsaJWK("r2", &rotated.PublicKey))
	tok := signed(t, jwt.SigningMethodRS256, "r2", rotated)
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := jwksOnly.Verify(tok); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("rotated key never accepted")
		}
		time.Sleep(60 * time.Millisecond)
	}
	// Unknown kids do not hammer the issuer: with a 10 s refresh interval, 50 forged
	// kids cause at most one fetch, and none of them waits for the limiter.
	slow, err := NewJWKS(ctx, srv.URL, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	limited, _ := NewVerifier(Options{JWKS: slow})
	js.mu.Lock()
	before := js.hits
	js.mu.Unlock()
	start := time.Now()
	for range 50 {
		if _, err := limited.Verify(signed(t, jwt.SigningMethodRS256, "forged", rsaKey)); err == nil {
			t.Fatal("forged kid accepted")
		}
	}
	elapsed := time.Since(start)
	js.mu.Lock()
	after := js.hits
	js.mu.Unlock()
	if after-before > 1 || elapsed > 3*time.Second {
		t.Errorf("50 forged kids: %d JWKS fetches in %s; want at most 1, quickly", after-before, elapsed)
	}
}
