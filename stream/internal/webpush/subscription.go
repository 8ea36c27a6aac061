package webpush

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// MaxSubscriptions is how many subscriptions (browsers, devices) one user may hold.
const MaxSubscriptions = 10

// SubscriptionTTL is how long a user's subscriptions live without use. Adding one or
// pushing to them renews it; the key expiring lets volatile-lru evict abandoned ones.
const SubscriptionTTL = 60 * 24 * time.Hour

// maxEndpointLen bounds what we store per subscription; real endpoints are ~200 bytes.
const maxEndpointLen = 2048

// Sentinel errors callers branch on (errors.Is).
var (
	// ErrInvalidSubscription: the endpoint or keys are malformed (HTTP 400).
	ErrInvalidSubscription = errors.New("invalid push subscription")
	// ErrTooManySubscriptions: the user already has MaxSubscriptions (HTTP 409).
	ErrTooManySubscriptions = errors.New("too many push subscriptions")
)

// Subscription is the browser's PushSubscription as JSON (PushSubscription.toJSON()).
// The endpoint is a capability URL: anyone holding it can push to the browser (though
// not decrypt-ably without the keys), so logs show only its origin (Origin).
//
// PublicKey is ours, not the browser's: the VAPID public key (applicationServerKey) the
// subscription was made with, which push services bind it to. The server records it
// (the client may name it; otherwise the current key), and the Sender signs with the
// matching pair, so a rotation does not cut off subscriptions made before it.
type Subscription struct {
	Endpoint  string  `json:"endpoint"`
	Keys      SubKeys `json:"keys"`
	PublicKey string  `json:"public_key,omitempty"`
}

// SubKeys are the browser's ECDH public key and authentication secret, base64url.
type SubKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// Store keeps each user's subscriptions. User IDs must already be valid
// (notification.ValidUserID). Safe for concurrent use.
type Store interface {
	// Add stores s for user, replacing a subscription with the same endpoint (a browser
	// re-subscribing gets new keys). It validates s, refuses a new endpoint beyond
	// MaxSubscriptions with ErrTooManySubscriptions, and renews the TTL.
	Add(ctx context.Context, user string, s Subscription) error
	// Remove deletes the subscription with endpoint; removing an unknown one is no error.
	Remove(ctx context.Context, user, endpoint string) error
	// List returns the user's subscriptions in no particular order and renews the TTL.
	List(ctx context.Context, user string) ([]Subscription, error)
}

// Validate checks s as the contract requires: an absolute https endpoint (or, with
// allowLoopback, http://127.0.0.1:<port>), a p256dh that is a 65-byte uncompressed
// P-256 point and a 16-byte auth secret. Errors wrap ErrInvalidSubscription and never
// repeat the endpoint or keys.
func (s Subscription) Validate(allowLoopback bool) error {
	if err := validEndpoint(s.Endpoint, allowLoopback); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidSubscription, err)
	}
	p, err := decodeB64URL(s.Keys.P256dh)
	if err != nil || len(p) != 65 || p[0] != 4 {
		return fmt.Errorf("%w: keys.p256dh must be base64url of a 65-byte uncompressed P-256 point", ErrInvalidSubscription)
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return fmt.Errorf("%w: keys.p256dh is not a point on P-256", ErrInvalidSubscription)
	}
	if a, err := decodeB64URL(s.Keys.Auth); err != nil || len(a) != 16 {
		return fmt.Errorf("%w: keys.auth must be base64url of 16 bytes", ErrInvalidSubscription)
	}
	return nil
}

// Origin is the endpoint's scheme and host: what logs may show of it.
func (s Subscription) Origin() string { return origin(s.Endpoint) }

func origin(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host
}

// validEndpoint refuses anything but a plain absolute https URL on port 443 and a public
// DNS name: no credentials, no IP address in any notation, no localhost or other
// special-use name (the server would POST there: server-side request forgery); the
// dialer checks the resolved address too (see checkDial).
func validEndpoint(endpoint string, allowLoopback bool) error {
	if endpoint == "" || len(endpoint) > maxEndpointLen {
		return fmt.Errorf("endpoint must be 1-%d bytes", maxEndpointLen)
	}
	u, err := url.Parse(endpoint)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return errors.New("endpoint must be an absolute URL without credentials or fragment")
	}
	host := u.Hostname()
	if allowLoopback && u.Scheme == "http" && host == "127.0.0.1" && u.Port() != "" {
		return nil
	}
	if u.Scheme != "https" {
		return errors.New("endpoint must be https")
	}
	if p := u.Port(); p != "" && p != "443" {
		return errors.New("endpoint must use the https port 443")
	}
	if !publicDNSName(host) {
		return errors.New("endpoint host must be a public DNS name")
	}
	return nil
}

// specialUseTLDs are names that never resolve to a push service on the internet
// (RFC 6761, RFC 6762's .local, ICANN's .internal, RFC 8375's home.arpa).
var specialUseTLDs = []string{"localhost", "local", "internal", "invalid", "test", "example", "onion", "home.arpa"}

// publicDNSName reports whether host is a DNS name as a push service has: at least two
// labels of letters, digits and inner hyphens, a top-level label that is not all
// digits, no trailing dot, and not under a special-use name. That refuses every form
// an IP address can be written in that resolvers accept (127.1, 0177.0.0.1,
// 0x7f.0.0.1, 2130706433) as well as localhost., foo.localhost and printer.local.
func publicDNSName(host string) bool {
	host = strings.ToLower(host)
	labels := strings.Split(host, ".")
	if len(host) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" || strings.HasPrefix(labels[len(labels)-1], "0x") {
		return false
	}
	for _, tld := range specialUseTLDs {
		if host == tld || strings.HasSuffix(host, "."+tld) {
			return false
		}
	}
	return true
}

// decodeB64URL decodes base64url with or without padding, as browsers and key tools
// differ on it.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
