package webpush

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vividly-edu/notifications/shared/config"
)

func TestParseKeys(t *testing.T) {
	t.Parallel()
	pub, priv, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	otherPub, otherPriv, _ := GenerateKeys()
	if k, err := ParseKeys(pub, priv); err != nil || k.Public != pub {
		t.Fatalf("generated pair: %v", err)
	}
	if _, err := ParseKeys(pub+"=", priv); err != nil {
		t.Errorf("padded public key: %v", err)
	}
	for name, c := range map[string]struct{ pub, priv, want string }{
		"mixed pair":       {pub, otherPriv, "does not belong"},
		"public missing":   {"", priv, "must both be set"},
		"public short":     {pub[:40], priv, "65-byte"},
		"public not b64":   {"$$" + pub[2:], priv, "VAPID_PUBLIC_KEY is not base64url"},
		"public off curve": {b64(append([]byte{4}, make([]byte, 64)...)), priv, "not a point"},
		"private short":    {pub, priv[:20], "32-byte"},
		"private not b64":  {pub, "%%" + priv[2:], "VAPID_PRIVATE_KEY is not base64url"},
		"private zero":     {pub, b64(make([]byte, 32)), "not a valid P-256 scalar"},
		"swapped":          {priv, pub, "VAPID_PUBLIC_KEY"},
	} {
		_, err := ParseKeys(c.pub, c.priv)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
			continue
		}
		for _, secret := range []string{priv, otherPriv, otherPub} {
			if strings.Contains(err.Error(), secret[:10]) {
				t.Errorf("%s: error %q repeats key material", name, err)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := testConfig(t)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{}).Validate(); err != nil || (Config{}).Enabled() {
		t.Errorf("unset config: %v; push must simply be off", err)
	}
	for name, c := range map[string]func(*Config){
		"subject missing":      func(c *Config) { c.Subject = "" },
		"subject http":         func(c *Config) { c.Subject = "http://vividly.example" },
		"subject no at":        func(c *Config) { c.Subject = "mailto:ops" },
		"only public key":      func(c *Config) { c.PrivateKey = "" },
		"ttl under an hour":    func(c *Config) { c.TTL = 3599e9 },
		"no window":            func(c *Config) { c.Window = 0 },
		"no concurrency":       func(c *Config) { c.Concurrency = 0 },
		"previous public only": func(c *Config) { c.PreviousPublicKey = c.PublicKey },
		"previous is current": func(c *Config) {
			c.PreviousPublicKey, c.PreviousPrivateKey = c.PublicKey, c.PrivateKey
		},
		"previous pair mixed": func(c *Config) {
			_, c.PreviousPrivateKey = pair(t)
			c.PreviousPublicKey, _ = pair(t)
		},
	} {
		cfg := good
		c(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := good
	cfg.Subject = "https://vividly.example/contact"
	if err := cfg.Validate(); err != nil {
		t.Errorf("https subject: %v", err)
	}
	cfg = good
	cfg.PreviousPublicKey, cfg.PreviousPrivateKey = pair(t)
	if err := cfg.Validate(); err != nil {
		t.Errorf("with a previous pair: %v", err)
	}
	logged := fmt.Sprint(slog.AnyValue(cfg).Resolve())
	for _, secret := range []config.Secret{cfg.PrivateKey, cfg.PreviousPrivateKey} {
		if strings.Contains(logged, string(secret)) {
			t.Errorf("LogValue = %s: shows a private key", logged)
		}
	}
	if !strings.Contains(logged, good.PublicKey) || !strings.Contains(logged, cfg.PreviousPublicKey) {
		t.Errorf("LogValue = %s: must show the public keys", logged)
	}
}

// TestConfigValidateNamesPreviousVariables: an error in the previous pair names its
// own variables, not the current pair's.
func TestConfigValidateNamesPreviousVariables(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.PreviousPublicKey, _ = pair(t)
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "VAPID_PREVIOUS_PRIVATE_KEY") {
		t.Fatalf("Validate() = %v, want an error naming VAPID_PREVIOUS_PRIVATE_KEY", err)
	}
}

// pair returns a fresh key pair.
func pair(t testing.TB) (string, config.Secret) {
	t.Helper()
	pub, priv, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return pub, config.Secret(priv)
}
