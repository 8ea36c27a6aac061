package webpush

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
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
		"subject missing":   func(c *Config) { c.Subject = "" },
		"subject http":      func(c *Config) { c.Subject = "http://vividly.example" },
		"subject no at":     func(c *Config) { c.Subject = "mailto:ops" },
		"only public key":   func(c *Config) { c.PrivateKey = "" },
		"ttl under an hour": func(c *Config) { c.TTL = 3599e9 },
		"no window":         func(c *Config) { c.Window = 0 },
		"no concurrency":    func(c *Config) { c.Concurrency = 0 },
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
	logged := fmt.Sprint(slog.AnyValue(good).Resolve())
	if strings.Contains(logged, good.PrivateKey) || !strings.Contains(logged, good.PublicKey) {
		t.Errorf("LogValue = %s: must show the public key and hide the private one", logged)
	}
}
