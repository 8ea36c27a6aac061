package webpush

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
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// pushService is a local stand-in for a push service (FCM, Mozilla autopush …) on
// loopback. Like the real ones it checks the VAPID authorization (RFC 8292: ES256
// signature by the key in k=, aud = its origin, exp within 24 h, and here also the
// subject) and the RFC 8030 headers; unlike them it also decrypts every message with
// the subscription's private key, as the browser would, and records the plaintext.
type pushService struct {
	t       testing.TB
	srv     *httptest.Server
	vapid   string // the expected k=, base64url
	subject string
	verify  bool // check and decrypt (the benchmark turns it off to time only our side)

	mu       sync.Mutex
	subs     map[string]uaKeys // path → browser keys
	script   map[string][]int  // path → statuses to answer in turn (hang: hang until cancelled)
	attempts map[string][]time.Time
	got      []received
	arrived  chan received
}

// hang as a scripted status makes the stand-in never answer.
const hang = -1

type received struct {
	path    string
	plain   []byte
	header  http.Header
	at      time.Time
	attempt int
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func newPushService(t testing.TB, vapidPublic, subject string) *pushService {
	p := &pushService{t: t, vapid: vapidPublic, subject: subject, verify: true, subs: map[string]uaKeys{},
		script: map[string][]int{}, attempts: map[string][]time.Time{}, arrived: make(chan received, 1000)}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// subscribe makes a browser subscription at path, answering the given statuses first
// (then 201).
func (p *pushService) subscribe(path string, statuses ...int) Subscription {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	p.mu.Lock()
	p.subs[path] = uaKeys{priv: priv, auth: auth}
	p.script[path] = statuses
	p.mu.Unlock()
	return Subscription{Endpoint: p.srv.URL + path, Keys: SubKeys{P256dh: b64(priv.PublicKey().Bytes()), Auth: b64(auth)}}
}

func (p *pushService) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	keys, known := p.subs[r.URL.Path]
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
	case status == hang:
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
	if !p.verify {
		w.WriteHeader(http.StatusCreated)
		return
	}
	if err := p.check(r); err != nil {
		p.t.Errorf("push service: %s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	plain, err := decrypt(body, keys)
	if err != nil {
		p.t.Errorf("push service: %s: decrypt: %v", r.URL.Path, err)
		http.Error(w, "decrypt", http.StatusBadRequest)
		return
	}
	rec := received{path: r.URL.Path, plain: plain, header: r.Header.Clone(), at: at, attempt: attempt}
	p.mu.Lock()
	p.got = append(p.got, rec)
	p.mu.Unlock()
	p.arrived <- rec
	w.WriteHeader(http.StatusCreated)
}

// check verifies the request as RFC 8030 and RFC 8292 require.
func (p *pushService) check(r *http.Request) error {
	if r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm" {
		return fmt.Errorf("%s with Content-Encoding %q", r.Method, r.Header.Get("Content-Encoding"))
	}
	if ttl, err := strconv.Atoi(r.Header.Get("TTL")); err != nil || ttl < 3600 {
		return fmt.Errorf("TTL %q, want >= 3600", r.Header.Get("TTL"))
	}
	if u := r.Header.Get("Urgency"); u != "normal" && u != "high" {
		return fmt.Errorf("urgency %q", u)
	}
	if tp := r.Header.Get("Topic"); tp != "" && !topicRE.MatchString(tp) {
		return fmt.Errorf("topic %q is not <= 32 base64url characters", tp)
	}
	params, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return fmt.Errorf("authorization is not vapid")
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
	if k != p.vapid {
		return fmt.Errorf("k= is not the configured VAPID public key")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), mustB64(p.t, k))
	if err != nil {
		return err
	}
	origin := p.srv.URL // the endpoint's scheme://host:port
	tok, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(origin), jwt.WithExpirationRequired())
	if err != nil {
		return fmt.Errorf("vapid jwt: %w", err)
	}
	exp, _ := tok.Claims.GetExpirationTime()
	if exp.After(time.Now().Add(24 * time.Hour)) {
		return fmt.Errorf("vapid exp %v is more than 24h away", exp)
	}
	if sub, _ := tok.Claims.GetSubject(); sub != p.subject {
		return fmt.Errorf("vapid sub %q, want %q", sub, p.subject)
	}
	return nil
}

// next waits for the next decrypted push.
func (p *pushService) next(within time.Duration) (received, bool) {
	select {
	case r := <-p.arrived:
		return r, true
	case <-time.After(within):
		return received{}, false
	}
}

func (p *pushService) all() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.got...)
}

func (p *pushService) attemptsAt(path string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.attempts[path]...)
}
