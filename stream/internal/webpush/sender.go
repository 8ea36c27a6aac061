package webpush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// Urgency is the RFC 8030 §5.3 Urgency header: how readily a device wakes for it.
type Urgency = webpush.Urgency

// The urgencies we use (very-low and low would delay what the student waits for).
const (
	UrgencyNormal = webpush.UrgencyNormal
	UrgencyHigh   = webpush.UrgencyHigh
)

// MaxPayload is the largest plaintext one push carries: push services accept 4096
// bytes of body, of which the aes128gcm header takes 86, the tag 16 and the padding
// delimiter 1.
const MaxPayload = 4096 - 86 - 16 - 1

// recordStep rounds the record size up so the ciphertext hides the exact length of the
// notification without sending 4 KiB every time.
const recordStep = 256

// AttemptTimeout bounds one request to a push service, so one that hangs holds a
// sending slot for at most this long and is then retried like a 5xx.
const AttemptTimeout = 10 * time.Second

// maxResponseHeader bounds a push service's response headers (see NewHTTPClient).
const maxResponseHeader = 16 << 10

// errNonPublic: the endpoint resolved to an address we do not connect to.
var errNonPublic = errors.New("refusing non-public address")

// ErrGone: the push service no longer knows the subscription (404 or 410); remove it.
var ErrGone = errors.New("push subscription gone")

// errRetiredKey: the subscription was made with a VAPID key that is neither the
// current nor the previous one. Push services refuse a push signed with another key
// than the subscription's, so it can never be delivered again: it is as good as gone
// (its browser re-subscribes with the current key, see docs/RUNBOOK.md).
var errRetiredKey = fmt.Errorf("subscribed with a VAPID key no longer configured: %w", ErrGone)

// Message is one push: the plaintext and its RFC 8030 headers.
type Message struct {
	Payload []byte
	Urgency Urgency
	// Topic lets the push service replace an undelivered message with the same topic:
	// at most 32 characters of the base64url alphabet.
	Topic string
	TTL   time.Duration
}

// SendError is a push that failed. It never holds the endpoint's path (a capability)
// or key material: only the origin.
type SendError struct {
	Origin string
	// Status is the push service's HTTP status, 0 when there was no response.
	Status int
	// Temporary reports whether trying again later may succeed (429, 5xx, network).
	Temporary bool
	// RetryAfter is the push service's Retry-After, 0 when it sent none.
	RetryAfter time.Duration
	Err        error
}

func (e *SendError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("push to %s: status %d: %v", e.Origin, e.Status, e.Err)
	}
	return fmt.Sprintf("push to %s: %v", e.Origin, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// Sender encrypts and signs one message for one subscription and posts it. Safe for
// concurrent use.
type Sender struct {
	keys       Keys // the current pair: new subscriptions, and those that name no key
	previous   Keys // the pair being rotated out; zero when none
	subscriber string
	client     *http.Client
}

// NewSender checks cfg and returns a sender. A nil client gets one with timeouts, HTTP/2
// and a dialer that refuses private addresses (loopback too, unless AllowLoopback).
func NewSender(cfg Config, client *http.Client) (*Sender, error) {
	keys, err := ParseKeys(cfg.PublicKey, string(cfg.PrivateKey))
	if err != nil {
		return nil, err
	}
	previous, err := cfg.previousKeys()
	if err != nil {
		return nil, err
	}
	if err := validSubject(cfg.Subject); err != nil {
		return nil, err
	}
	if client == nil {
		client = NewHTTPClient(cfg.AllowLoopback)
	}
	return &Sender{keys: keys, previous: previous, subscriber: libSubscriber(cfg.Subject), client: client}, nil
}

// PublicKey is the current VAPID public key (base64url, unpadded): what browsers
// subscribe with (GET …/push/key).
func (s *Sender) PublicKey() string { return s.keys.Public }

// KeyFor returns the configured public key equal to key (padding aside): the current
// one or, during a rotation, the previous one. ok is false for any other key.
func (s *Sender) KeyFor(key string) (public string, ok bool) {
	k, ok := s.pair(key)
	return k.Public, ok
}

// IsPrevious reports whether sub was made with the previous key of a rotation.
func (s *Sender) IsPrevious(sub Subscription) bool {
	k, ok := s.pair(sub.PublicKey)
	return ok && s.previous.Public != "" && k.Public == s.previous.Public
}

// pair is the key pair a subscription made with public key key is signed with: the
// current one when key is empty (subscriptions stored before keys were recorded).
func (s *Sender) pair(key string) (Keys, bool) {
	if key == "" {
		return s.keys, true
	}
	raw, err := decodeB64URL(key)
	if err != nil {
		return Keys{}, false
	}
	switch b64(raw) {
	case s.keys.Public:
		return s.keys, true
	case s.previous.Public:
		if s.previous.Public != "" {
			return s.previous, true
		}
	}
	return Keys{}, false
}

// Send delivers m to sub once, signed with the key pair sub was made with. It returns
// nil on 2xx and a *SendError otherwise, which wraps ErrGone on 404/410 and when sub's
// key is no longer configured.
func (s *Sender) Send(ctx context.Context, sub Subscription, m Message) error {
	fail := func(status int, temporary bool, err error) error {
		return &SendError{Origin: sub.Origin(), Status: status, Temporary: temporary, Err: err}
	}
	if len(m.Payload) > MaxPayload {
		return fail(0, false, fmt.Errorf("payload of %d bytes over %d", len(m.Payload), MaxPayload))
	}
	keys, ok := s.pair(sub.PublicKey)
	if !ok {
		return fail(0, false, errRetiredKey)
	}
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	rs := (len(m.Payload) + 1 + 16 + 86 + recordStep - 1) / recordStep * recordStep
	// The library appends the padding to the slice it is given, writing into its spare
	// capacity: give it a private copy, as one payload goes to several subscriptions at
	// once.
	payload := append(make([]byte, 0, len(m.Payload)), m.Payload...)
	resp, err := webpush.SendNotificationWithContext(ctx, payload, &webpush.Subscription{
		Endpoint: sub.Endpoint,
		Keys:     webpush.Keys{P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth},
	}, &webpush.Options{
		HTTPClient:      s.client,
		RecordSize:      uint32(min(rs, 4096)),
		Subscriber:      s.subscriber,
		Topic:           m.Topic,
		TTL:             int(m.TTL / time.Second),
		Urgency:         m.Urgency,
		VAPIDPublicKey:  keys.Public,
		VAPIDPrivateKey: keys.private,
	})
	if err != nil {
		// *url.Error repeats the whole endpoint URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			if errors.Is(err, errNonPublic) {
				// The endpoint's name resolves where pushes never go: it will not
				// change by retrying, and the subscription is useless, so it is gone.
				return fail(0, false, errors.Join(ErrGone, ue.Err))
			}
			return fail(0, true, ue.Err)
		}
		return fail(0, false, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<10)) // lets the connection be reused
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return fail(code, false, ErrGone)
	case code == http.StatusTooManyRequests || code >= 500:
		e := fail(code, true, errors.New(http.StatusText(code))).(*SendError)
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		return e
	default: // 400 malformed, 401/403 VAPID refused, 413 too large: retrying won't help
		return fail(code, false, errors.New(http.StatusText(code)))
	}
}

// retryAfter parses Retry-After (delay-seconds or an HTTP date); 0 when absent or bad.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// NewHTTPClient returns the client push requests use: bounded connect, TLS and header
// waits, HTTP/2 (one connection to a push service carries many pushes), no proxy, and a
// dialer that only connects to public addresses on port 443 (see checkDial; with
// allowLoopback, 127.0.0.1 on any port too):
// subscription endpoints come from browsers, so they must not reach internal services.
// The check runs on the resolved address, so DNS tricks do not get around it.
func NewHTTPClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			return checkDial(address, allowLoopback)
		},
	}
	return &http.Client{
		Timeout: AttemptTimeout,
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: AttemptTimeout,
			// A push service's response headers are a few hundred bytes. Go's default
			// bound is 10 MB, which an endpoint (chosen by a browser) could send to
			// every push: ~9 MB allocated per push, an OOM kill for the instance.
			MaxResponseHeaderBytes: maxResponseHeader,
			MaxIdleConnsPerHost:    64,
			IdleConnTimeout:        90 * time.Second,
		},
		// A push service answers; it does not redirect. Following one would let an
		// endpoint bounce our request elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
