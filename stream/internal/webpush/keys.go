package webpush

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/vividly-edu/notifications/shared/config"
)

// Config is what the push path reads from the environment. The VAPID private keys
// come from Secret Manager and are config.Secret: never logged or printed.
type Config struct {
	// PublicKey is the VAPID public key: base64url of the 65-byte uncompressed P-256 point.
	PublicKey string `env:"VAPID_PUBLIC_KEY"`
	// PrivateKey is the VAPID private key: base64url of the 32-byte P-256 scalar.
	PrivateKey config.Secret `env:"VAPID_PRIVATE_KEY"`
	// PreviousPublicKey and PreviousPrivateKey are the pair being rotated out: set
	// together, only during a rotation (docs/RUNBOOK.md, "Rotating the VAPID keys").
	// Subscriptions made with the previous public key are still signed with it, so
	// they keep receiving pushes until their browsers re-subscribe with the new one.
	PreviousPublicKey  string        `env:"VAPID_PREVIOUS_PUBLIC_KEY"`
	PreviousPrivateKey config.Secret `env:"VAPID_PREVIOUS_PRIVATE_KEY"`
	// Subject is the contact push services see: a mailto: or https URL.
	Subject string `env:"VAPID_SUBJECT"`
	// AllowLoopback admits http://127.0.0.1:<port> endpoints. For tests only.
	AllowLoopback bool `env:"PUSH_ALLOW_LOOPBACK, default=false"`
	// TTL is how long a push service keeps an undelivered message (RFC 8030 §5.2).
	TTL time.Duration `env:"PUSH_TTL, default=24h"`
	// Window is the coalescing window: one push at its start, one summary at its end.
	Window time.Duration `env:"PUSH_COALESCE_WINDOW, default=60s"`
	// Concurrency bounds the HTTP requests to push services in flight per instance.
	Concurrency int `env:"PUSH_CONCURRENCY, default=256"`
}

// MinTTL is the smallest TTL the contract allows.
const MinTTL = time.Hour

// Enabled reports whether push is configured at all. With no key and no subject the
// service runs without push; a partial configuration is an error (Validate).
func (c Config) Enabled() bool {
	return c.PublicKey != "" || c.PrivateKey != "" || c.Subject != "" ||
		c.PreviousPublicKey != "" || c.PreviousPrivateKey != ""
}

// Validate checks the configuration when push is enabled: a key pair that belongs
// together, a usable subject and sane limits. Its errors name the variable, never the
// value.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if _, err := ParseKeys(c.PublicKey, string(c.PrivateKey)); err != nil {
		return err
	}
	if _, err := c.previousKeys(); err != nil {
		return err
	}
	if err := validSubject(c.Subject); err != nil {
		return err
	}
	if c.TTL < MinTTL || c.TTL > 28*24*time.Hour {
		return fmt.Errorf("config: PUSH_TTL must be between 1h and 672h (RFC 8030 push services keep messages up to 4 weeks)")
	}
	if c.Window <= 0 {
		return errors.New("config: PUSH_COALESCE_WINDOW must be positive")
	}
	if c.Concurrency < 1 {
		return errors.New("config: PUSH_CONCURRENCY must be at least 1")
	}
	return nil
}

// LogValue implements slog.LogValuer: the private keys are redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("vapid_public_key", c.PublicKey),
		slog.Any("vapid_private_key", c.PrivateKey),
		slog.String("vapid_previous_public_key", c.PreviousPublicKey),
		slog.Any("vapid_previous_private_key", c.PreviousPrivateKey),
		slog.String("vapid_subject", c.Subject),
		slog.Bool("push_allow_loopback", c.AllowLoopback),
		slog.Duration("push_ttl", c.TTL),
		slog.Duration("push_coalesce_window", c.Window),
		slog.Int("push_concurrency", c.Concurrency),
	)
}

// previousKeys parses the pair being rotated out; it returns the zero Keys when there
// is none.
func (c Config) previousKeys() (k Keys, err error) {
	if c.PreviousPublicKey == "" && c.PreviousPrivateKey == "" {
		return Keys{}, nil
	}
	k, err = ParseKeys(c.PreviousPublicKey, string(c.PreviousPrivateKey))
	if err != nil {
		// ParseKeys names the current pair's variables.
		r := strings.NewReplacer("VAPID_PUBLIC_KEY", "VAPID_PREVIOUS_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_PREVIOUS_PRIVATE_KEY")
		return Keys{}, errors.New(r.Replace(err.Error()))
	}
	if k.Public == b64(mustDecode(c.PublicKey)) {
		return Keys{}, errors.New("config: VAPID_PREVIOUS_PUBLIC_KEY is the current VAPID_PUBLIC_KEY: unset the previous pair once a rotation is over")
	}
	return k, nil
}

// mustDecode decodes a key already checked by ParseKeys.
func mustDecode(s string) []byte {
	b, _ := decodeB64URL(s)
	return b
}

// Keys is a checked VAPID key pair.
type Keys struct {
	Public  string // base64url, unpadded, as the browser's applicationServerKey wants it
	private string // base64url, unpadded
	raw     []byte // the private scalar, for deriving Topic names
}

// ParseKeys decodes and checks a VAPID key pair: the public key must be a point on
// P-256 and must be the one the private key yields, so a pair mixed up during a
// rotation fails at startup instead of at every push.
func ParseKeys(public, private string) (Keys, error) {
	if public == "" || private == "" {
		return Keys{}, errors.New("config: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must both be set")
	}
	pub, err := decodeB64URL(public)
	if err != nil {
		return Keys{}, errors.New("config: VAPID_PUBLIC_KEY is not base64url")
	}
	if len(pub) != 65 || pub[0] != 4 {
		return Keys{}, fmt.Errorf("config: VAPID_PUBLIC_KEY must be a 65-byte uncompressed P-256 point, got %d bytes", len(pub))
	}
	if _, err := ecdh.P256().NewPublicKey(pub); err != nil {
		return Keys{}, errors.New("config: VAPID_PUBLIC_KEY is not a point on P-256")
	}
	priv, err := decodeB64URL(private)
	if err != nil {
		return Keys{}, errors.New("config: VAPID_PRIVATE_KEY is not base64url")
	}
	if len(priv) != 32 {
		return Keys{}, fmt.Errorf("config: VAPID_PRIVATE_KEY must be a 32-byte P-256 scalar, got %d bytes", len(priv))
	}
	key, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		return Keys{}, errors.New("config: VAPID_PRIVATE_KEY is not a valid P-256 scalar")
	}
	if !bytes.Equal(key.PublicKey().Bytes(), pub) {
		return Keys{}, errors.New("config: VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY")
	}
	return Keys{Public: b64(pub), private: b64(priv), raw: priv}, nil
}

// GenerateKeys returns a fresh VAPID key pair in the form the configuration takes,
// for the runbook (go run ./stream/internal/webpush/vapidkeys).
func GenerateKeys() (public, private string, err error) {
	private, public, err = webpush.GenerateVAPIDKeys()
	if err != nil {
		return "", "", fmt.Errorf("generate vapid keys: %w", err)
	}
	if _, err := ParseKeys(public, private); err != nil {
		return "", "", fmt.Errorf("generate vapid keys: %w", err)
	}
	return public, private, nil
}

// validSubject accepts mailto:<address> or an absolute https URL (RFC 8292 §2.1).
func validSubject(s string) error {
	const msg = "config: VAPID_SUBJECT must be a mailto: address or an https URL"
	if addr, ok := strings.CutPrefix(s, "mailto:"); ok {
		if at := strings.IndexByte(addr, '@'); at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " \t\r\n<>") {
			return errors.New(msg)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errors.New(msg)
	}
	return nil
}

// libSubscriber is the subject as webpush-go wants it: the library adds "mailto:" to
// anything that does not start with "https:", so a mailto: subject loses its scheme.
func libSubscriber(subject string) string {
	if addr, ok := strings.CutPrefix(subject, "mailto:"); ok {
		return addr
	}
	return subject
}
