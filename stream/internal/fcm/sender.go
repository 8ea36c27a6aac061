package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	fcmapi "google.golang.org/api/fcm/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// Scope is the OAuth scope FCM's HTTP v1 API needs.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// AttemptTimeout bounds one request to FCM: a hanging FCM holds a sending slot for at
// most this long, and the attempt is then retried like a 503.
const AttemptTimeout = 10 * time.Second

// Config is what FCM reads from the environment.
type Config struct {
	// ProjectID turns FCM on: pushes go to projects/<ProjectID>/messages:send.
	ProjectID string `env:"FCM_PROJECT_ID"`
	// Endpoint replaces https://fcm.googleapis.com/ (a loopback stand-in; tests only).
	// With it and no Application Default Credentials file, requests carry no OAuth.
	Endpoint string `env:"FCM_ENDPOINT"`
	// Concurrency bounds the requests to FCM in flight per instance.
	Concurrency int `env:"FCM_CONCURRENCY, default=128"`
}

// Enabled reports whether FCM is configured.
func (c Config) Enabled() bool { return c.ProjectID != "" }

// Validate checks the configuration; its errors name the variable.
func (c Config) Validate() error {
	if !c.Enabled() {
		if c.Endpoint != "" {
			return errors.New("config: FCM_ENDPOINT is set but FCM_PROJECT_ID is not")
		}
		return nil
	}
	for _, r := range c.ProjectID {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return errors.New("config: FCM_PROJECT_ID must be a project id (a-z, 0-9, -)")
		}
	}
	if c.Concurrency < 1 {
		return errors.New("config: FCM_CONCURRENCY must be at least 1")
	}
	return nil
}

// Message is one decided push, the same for every device of the user.
type Message struct {
	Data        string        `json:"d"` // the SSE data JSON: message.data.notification
	Title       string        `json:"t"`
	Body        string        `json:"b,omitempty"`
	High        bool          `json:"h,omitempty"` // android HIGH / apns-priority 10
	TTL         time.Duration `json:"ttl"`
	CollapseKey string        `json:"c"`
}

// SendError is a push FCM did not accept. It never holds the token.
type SendError struct {
	Status     int    // HTTP status, 0 when there was no response
	Code       string // FCM's errorCode (UNREGISTERED, INVALID_ARGUMENT, …) or the RPC status
	Gone       bool   // the token is no longer valid: remove the device
	Temporary  bool   // 429, 500, 503 or no answer: try again later
	RetryAfter time.Duration
	Err        error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("fcm: status %d %s: %v", e.Status, e.Code, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// Sender posts messages to FCM's HTTP v1 API. Safe for concurrent use.
type Sender struct {
	svc    *fcmapi.Service
	parent string
}

// NewSender returns a sender for cfg. Credentials are Application Default Credentials
// with Scope, unless opts say otherwise (tests pass a token source). With
// cfg.Endpoint set and no ADC file (GOOGLE_APPLICATION_CREDENTIALS) it sends without
// OAuth: that is a loopback stand-in, never FCM. The metadata server is not probed
// then, so a test never reaches for the network.
func NewSender(ctx context.Context, cfg Config, opts ...option.ClientOption) (*Sender, error) {
	if !cfg.Enabled() {
		return nil, errors.New("fcm: FCM_PROJECT_ID is not set")
	}
	base := []option.ClientOption{option.WithScopes(Scope)}
	if cfg.Endpoint != "" {
		base = append(base, option.WithEndpoint(cfg.Endpoint))
		if len(opts) == 0 && os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
			base = append(base, option.WithoutAuthentication())
		}
	}
	svc, err := fcmapi.NewService(ctx, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("fcm client: %w", err)
	}
	return &Sender{svc: svc, parent: "projects/" + cfg.ProjectID}, nil
}

// Send delivers m to one device token once. It returns nil when FCM accepted it and a
// *SendError otherwise.
func (s *Sender) Send(ctx context.Context, token string, m Message, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	_, err := s.svc.Projects.Messages.Send(s.parent, &fcmapi.SendMessageRequest{Message: build(token, m, now)}).
		Context(ctx).Do()
	if err == nil {
		return nil
	}
	return classify(err, now)
}

// build is the v1 message of the contract: token, notification (title, body), data
// {"notification": <SSE data JSON>}, android priority/ttl/collapse_key and the APNs
// headers apns-priority (10/5), apns-expiration (epoch seconds) and apns-collapse-id.
func build(token string, m Message, now time.Time) *fcmapi.Message {
	priority, apnsPriority := "NORMAL", "5"
	if m.High {
		priority, apnsPriority = "HIGH", "10"
	}
	ttl := max(m.TTL.Truncate(time.Second), 0)
	return &fcmapi.Message{
		Token:        token,
		Notification: &fcmapi.Notification{Title: m.Title, Body: m.Body},
		Data:         map[string]string{"notification": m.Data},
		Android: &fcmapi.AndroidConfig{Priority: priority, CollapseKey: m.CollapseKey,
			Ttl: strconv.FormatInt(int64(ttl/time.Second), 10) + "s"},
		Apns: &fcmapi.ApnsConfig{Headers: map[string]string{
			"apns-priority":    apnsPriority,
			"apns-expiration":  strconv.FormatInt(now.Add(ttl).Unix(), 10),
			"apns-collapse-id": m.CollapseKey,
		}},
	}
}

// classify turns the client's error into a SendError: UNREGISTERED (404) and an
// INVALID_ARGUMENT about the token mean the device is gone; 429, 500 and 503 (and no
// answer at all) are temporary, with FCM's Retry-After.
func classify(err error, now time.Time) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return &SendError{Temporary: true, Err: err} // timeout, connection refused, …
	}
	se := &SendError{Status: ge.Code, Err: errors.New(http.StatusText(ge.Code))}
	detail := parseErrorBody(ge.Body)
	se.Code = detail.code
	switch {
	case detail.code == "UNREGISTERED" || ge.Code == http.StatusNotFound:
		se.Gone = true
	case detail.code == "INVALID_ARGUMENT" && detail.tokenInvalid:
		se.Gone = true
	case ge.Code == http.StatusTooManyRequests || ge.Code == http.StatusInternalServerError ||
		ge.Code == http.StatusServiceUnavailable:
		se.Temporary = true
		se.RetryAfter = retryAfter(ge.Header.Get("Retry-After"), now)
	}
	return se
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
