// Package webpushtest is a local stand-in for a Web Push service (FCM, Mozilla
// autopush …) on loopback, for tests of the push path: the webpush package's own and
// the stream server's, which reach it through http://127.0.0.1:<port> endpoints
// (PUSH_ALLOW_LOOPBACK=true). Like the real ones it checks the VAPID authorization
// (RFC 8292: ES256 signature by the key in k=, which must be the key the subscription
// was made with, aud = its origin, exp within 24 h, and here also the subject) and the
// RFC 8030 headers; unlike them it also decrypts every message with the subscription's
// private key, as the browser would, and records the plaintext.
package webpushtest

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Hang as a scripted status makes the stand-in never answer (until the request is
// cancelled).
const Hang = -1

// Subscription is what a browser hands its application server: the endpoint and its
// keys, base64url (PushSubscription.toJSON()).
type Subscription struct {
	Endpoint string
	P256dh   string
	Auth     string
}

// Push is one message the stand-in accepted, decrypted.
type Push struct {
	Path     string      // the endpoint's path: which subscription
	Plain    []byte      // the decrypted plaintext
	Header   http.Header // the request's headers (TTL, Urgency, Topic, Authorization …)
	VAPIDKey string      // the k= it was signed with
	At       time.Time   // when it arrived
	Attempt  int         // which request to this path it was, from 1
}

// Service is the stand-in. Safe for concurrent use.
type Service struct {
	// URL is the service's origin, http://127.0.0.1:<port>.
	URL string

	t       testing.TB
	subject string
	noCheck atomic.Bool

	mu       sync.Mutex
	subs     map[string]subscription // path → browser side
	script   map[string][]int        // path → statuses to answer in turn
	attempts map[string][]time.Time
	got      []Push
	arrived  chan Push
}

type subscription struct {
	keys  uaKeys
	vapid string // the applicationServerKey it was made with
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// New starts a stand-in that expects VAPID tokens with subject sub (as configured in
// VAPID_SUBJECT); it stops when the test ends.
func New(t testing.TB, subject string) *Service {
	p := &Service{t: t, subject: subject, subs: map[string]subscription{}, script: map[string][]int{},
		attempts: map[string][]time.Time{}, arrived: make(chan Push, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SetVerify turns the checks and decryption on (the default) or off: a benchmark turns
// them off to time only the sending side. Unchecked pushes are not recorded.
func (p *Service) SetVerify(on bool) { p.noCheck.Store(!on) }

// Subscribe makes a browser subscription at path, as PushManager.subscribe does with
// applicationServerKey vapidKey: pushes to it must be signed with that key. The
// stand-in answers the given statuses first (Hang: never), then 201.
func (p *Service) Subscribe(path, vapidKey string, statuses ...int) Subscription {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	p.mu.Lock()
	p.subs[path] = subscription{keys: uaKeys{priv: priv, auth: auth}, vapid: vapidKey}
	p.script[path] = statuses
	p.mu.Unlock()
	return Subscription{Endpoint: p.URL + path, P256dh: B64(priv.PublicKey().Bytes()), Auth: B64(auth)}
}

// Next waits up to within for the next accepted push.
func (p *Service) Next(within time.Duration) (Push, bool) {
	select {
	case r := <-p.arrived:
		return r, true
	case <-time.After(within):
		return Push{}, false
	}
}

// All returns every push accepted so far, in arrival order.
func (p *Service) All() []Push {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Push(nil), p.got...)
}

// Attempts returns when each request to path arrived, whatever was answered.
func (p *Service) Attempts(path string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.attempts[path]...)
}

func (p *Service) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	sub, known := p.subs[r.URL.Path]
	p.attempts[r.URL.Path] = append(p.attempts[r.URL.Path], at)
	attempt := len(p.attempts[r.URL.Path])
	status := http.StatusCreated
	if s := p.script[r.URL.Path]; len(s) > 0 {
		status, p.script[r.URL.Path] = s[0], s[1:]
	}
	p.mu.Unlock()
	if !known {
		http.Error(w, "unknown subscription", http.StatusNotFound)
		return
	}
	switch {
	case status == Hang:
		<-r.Context().Done()
		return
	case status == http.StatusTooManyRequests || status >= 500:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(status)
		return
	case status != http.StatusCreated:
		w.WriteHeader(status)
		return
	}
	if p.noCheck.Load() {
		w.WriteHeader(http.StatusCreated)
		return
	}
	k, err := p.check(r, sub.vapid)
	if err != nil {
		p.t.Errorf("push service: %s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	plain, err := decrypt(body, sub.keys)
	if err != nil {
		p.t.Errorf("push service: %s: decrypt: %v", r.URL.Path, err)
		http.Error(w, "decrypt", http.StatusBadRequest)
		return
	}
	rec := Push{Path: r.URL.Path, Plain: plain, Header: r.Header.Clone(), VAPIDKey: k, At: at, Attempt: attempt}
	p.mu.Lock()
	p.got = append(p.got, rec)
	p.mu.Unlock()
	p.arrived <- rec
	w.WriteHeader(http.StatusCreated)
}

// check verifies the request as RFC 8030 and RFC 8292 require, k= being vapid, and
// returns k=.
func (p *Service) check(r *http.Request, vapid string) (string, error) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm" {
		return "", fmt.Errorf("%s with Content-Encoding %q", r.Method, r.Header.Get("Content-Encoding"))
	}
	if ttl, err := strconv.Atoi(r.Header.Get("TTL")); err != nil || ttl < 3600 {
		return "", fmt.Errorf("TTL %q, want >= 3600", r.Header.Get("TTL"))
	}
	if u := r.Header.Get("Urgency"); u != "normal" && u != "high" {
		return "", fmt.Errorf("urgency %q", u)
	}
	if tp := r.Header.Get("Topic"); tp != "" && !topicRE.MatchString(tp) {
		return "", fmt.Errorf("topic %q is not <= 32 base64url characters", tp)
	}
	params, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return "", fmt.Errorf("authorization is not vapid")
	}
	var token, k string
	for _, kv := range strings.Split(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch name {
		case "t":
			token = value
		case "k":
			k = value
		}
	}
	if k != vapid {
		return k, fmt.Errorf("k= is not the VAPID key the subscription was made with")
	}
	raw, err := DecodeB64(k)
	if err != nil {
		return k, err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return k, err
	}
	tok, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(p.URL), jwt.WithExpirationRequired())
	if err != nil {
		return k, fmt.Errorf("vapid jwt: %w", err)
	}
	exp, _ := tok.Claims.GetExpirationTime()
	if exp.After(time.Now().Add(24 * time.Hour)) {
		return k, fmt.Errorf("vapid exp %v is more than 24h away", exp)
	}
	if sub, _ := tok.Claims.GetSubject(); sub != p.subject {
		return k, fmt.Errorf("vapid sub %q, want %q", sub, p.subject)
	}
	return k, nil
}
