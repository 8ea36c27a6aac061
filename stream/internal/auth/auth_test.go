package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Now()
	v, err := NewVerifier(Options{Secret: secret, Issuer: "vividly", Audience: "notifications"})
	if err != nil {
		t.Fatal(err)
	}
	good := jwt.MapClaims{"sub": "u-42", "exp": now.Add(time.Hour).Unix(), "iss": "vividly", "aud": "notifications"}
	with := func(k string, val any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range good {
			c[a] = b
		}
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString(pubPEM)
	rs256, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, good).SignedString(rsaKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString([]byte("another-secret-another-secret-xx"))
	evilClaims := with("exp", now.Add(-time.Hour).Unix())
	evilClaims["iss"] = "evil"
	expiredEvil := sign(t, evilClaims)
	expiredOther, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, with("exp", now.Add(-time.Hour).Unix())).
		SignedString([]byte("another-secret-another-secret-xx"))

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"valid", sign(t, good), nil},
		{"expired within leeway", sign(t, with("exp", now.Add(-10*time.Second).Unix())), ErrExpired},
		{"nbf within leeway", sign(t, with("nbf", now.Add(10*time.Second).Unix())), nil},
		{"expired", sign(t, with("exp", now.Add(-time.Minute).Unix())), ErrExpired},
		{"no exp", sign(t, with("exp", nil)), ErrInvalid},
		{"not yet valid", sign(t, with("nbf", now.Add(time.Minute).Unix())), ErrNotYetValid},
		{"expired and wrong issuer", expiredEvil, ErrInvalid},
		{"over MaxTokenBytes", sign(t, with("pad", strings.Repeat("x", MaxTokenBytes))), ErrTooLarge},
		{"wrong issuer", sign(t, with("iss", "evil")), ErrInvalid},
		{"wrong audience", sign(t, with("aud", "other")), ErrInvalid},
		{"no sub", sign(t, with("sub", nil)), ErrInvalid},
		{"sub with colon", sign(t, with("sub", "u:1")), ErrInvalid},
		{"sub wildcard", sign(t, with("sub", "*")), ErrInvalid},
		{"sub not string", sign(t, with("sub", 42)), ErrInvalid},
		{"bad signature", other, ErrInvalid},
		{"expired and badly signed", expiredOther, ErrInvalid},
		{"alg none", none, ErrInvalid},
		{"RS256 not allowed", rs256, ErrInvalid},
		{"HS256 signed with the RSA public key", confused, ErrInvalid},
		{"garbage", "not.a.jwt", ErrInvalid},
		{"empty", "", ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, err := v.Verify(tc.token)
			if tc.want == nil {
				if err != nil || id.UserID != "u-42" || id.Expires.IsZero() {
					t.Fatalf("Verify = %+v, %v", id, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCustomUserClaim(t *testing.T) {
	t.Parallel()
	v, _ := NewVerifier(Options{Secret: secret, UserClaim: "uid"})
	id, err := v.Verify(sign(t, jwt.MapClaims{"uid": "u-7", "sub": "other", "exp": time.Now().Add(time.Hour).Unix()}))
	if err != nil || id.UserID != "u-7" {
		t.Fatalf("Verify = %+v, %v", id, err)
	}
}

func TestSecretRules(t *testing.T) {
	t.Parallel()
	if _, err := NewVerifier(Options{}); err == nil {
		t.Fatal("accepted an empty secret")
	}
	if !WeakSecret([]byte("short")) || WeakSecret(secret) {
		t.Fatal("WeakSecret misjudges key length")
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]error{"": ErrMissing, "Bearer abc": nil, "bearer abc": nil, "Basic abc": ErrInvalid,
		"Bearer": ErrInvalid, "Bearer ": ErrInvalid, "Bearer a b": ErrInvalid} {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		tok, err := BearerToken(r)
		if !errors.Is(err, want) || (want == nil && tok != "abc") {
			t.Errorf("BearerToken(%q) = %q, %v; want %v", h, tok, err, want)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v, _ := NewVerifier(Options{Secret: secret})
	tok := sign(b, jwt.MapClaims{"sub": "u-42", "exp": time.Now().Add(time.Hour).Unix()})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyHonestFailures: only a missing credential and a genuine token outside its
// time window are failures an honest client makes; admission counts every other one
// against the client's address.
func TestVerifyHonestFailures(t *testing.T) {
	t.Parallel()
	v, err := NewVerifier(Options{Secret: secret, Issuer: "vividly"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "u", "iss": "vividly", "exp": now.Add(time.Hour).Unix()}
		for k, val := range extra {
			c[k] = val
			if val == nil {
				delete(c, k)
			}
		}
		return c
	}
	other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})).
		SignedString([]byte("another-secret-another-secret-xx"))
	for name, tc := range map[string]struct {
		token  string
		honest bool
	}{
		"expired":                  {sign(t, claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), true},
		"not yet valid":            {sign(t, claims(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()})), true},
		"expired, badly signed":    {other, false},
		"expired, wrong issuer":    {sign(t, claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix(), "iss": "evil"})), false},
		"not yet valid, no issuer": {sign(t, claims(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix(), "iss": nil})), false},
		"malformed":                {"not.a.jwt", false},
		"oversized":                {strings.Repeat("a", MaxTokenBytes+1), false},
	} {
		_, err := v.Verify(tc.token)
		if err == nil || Honest(err) != tc.honest {
			t.Errorf("%s: Verify = %v, Honest = %v, want %v", name, err, Honest(err), tc.honest)
		}
	}
	if !Honest(ErrMissing) || Honest(ErrTokenInURL) || Honest(ErrTooLarge) {
		t.Error("Honest misclassifies the extraction errors")
	}
}
