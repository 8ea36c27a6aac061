// Package fcmtest is a loopback stand-in for FCM's HTTP v1 send endpoint
// (POST /v1/projects/{project}/messages:send). It checks every request as the v1
// reference defines it — path, bearer token, JSON shape and field types (android.ttl a
// duration string, android.priority an enum, apns-expiration epoch seconds) — refuses
// one that is off with 400 and records it as a Violation, and answers FCM's documented
// error bodies for the tokens a test scripts to fail.
package fcmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Failure is one scripted error answer.
type Failure struct {
	Status     int
	Body       string
	RetryAfter string // Retry-After header, "" for none
}

// The error answers FCM documents (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
var (
	Unregistered = Failure{Status: 404, Body: errBody(404, "Requested entity was not found.", "NOT_FOUND", "UNREGISTERED")}
	InvalidToken = Failure{Status: 400, Body: errBody(400, "The registration token is not a valid FCM registration token",
		"INVALID_ARGUMENT", "INVALID_ARGUMENT")}
	// InvalidOther is INVALID_ARGUMENT about something else than the token: not a
	// reason to remove the device.
	InvalidOther = Failure{Status: 400, Body: errBody(400, "Request contains an invalid argument.", "INVALID_ARGUMENT", "INVALID_ARGUMENT")}
	Unavailable  = Failure{Status: 503, Body: errBody(503, "The service is currently unavailable.", "UNAVAILABLE", "UNAVAILABLE")}
	Internal     = Failure{Status: 500, Body: errBody(500, "Internal error encountered.", "INTERNAL", "INTERNAL")}
)

// QuotaExceeded is 429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED with Retry-After seconds.
func QuotaExceeded(retryAfter int) Failure {
	return Failure{Status: 429, RetryAfter: strconv.Itoa(retryAfter),
		Body: errBody(429, "Quota exceeded for quota metric 'Send requests'.", "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")}
}

func errBody(code int, msg, status, errorCode string) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"status":%q,"details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":%q}]}}`,
		code, msg, status, errorCode)
}

// Received is one accepted message.
type Received struct {
	Token   string
	Auth    string // the Authorization header
	Message Message
	At      time.Time
}

// Server is the stand-in. Safe for concurrent use.
type Server struct {
	*httptest.Server
	Project     string
	RequireAuth bool // a request without "Authorization: Bearer …" is refused with 401
	// CountOnly keeps no accepted message, only their number (Accepted): load tests.
	CountOnly bool

	mu         sync.Mutex
	got        []Received
	violations []string
	script     map[string][]Failure // token → answers to give before accepting
	always     map[string]Failure   // token → answer to give every time
	delay      time.Duration
	arrived    chan struct{}
	attempts   map[string]int
	accepted   int
}

// New starts a stand-in for project; Close it when done (t.Cleanup).
func New(project string) *Server {
	s := &Server{Project: project, script: map[string][]Failure{}, always: map[string]Failure{},
		attempts: map[string]int{}, arrived: make(chan struct{}, 1<<20)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// Endpoint is what FCM_ENDPOINT is set to.
func (s *Server) Endpoint() string { return s.URL + "/" }

// FailNext makes the next len(fs) requests for token get fs, in order.
func (s *Server) FailNext(token string, fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script[token] = append(s.script[token], fs...)
}

// FailAlways makes every request for token get f.
func (s *Server) FailAlways(token string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always[token] = f
}

// SetDelay makes every answer wait d (a slow FCM); the request's context still ends it.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Received returns the accepted messages so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Accepted is how many messages were accepted.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Attempts is how many requests named token, accepted or not.
func (s *Server) Attempts(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[token]
}

// Violations lists the requests that broke the v1 contract.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// Arrived receives a value per accepted message.
func (s *Server) Arrived() <-chan struct{} { return s.arrived }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.mu.Lock()
		s.violations = append(s.violations, msg)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":"INVALID_ARGUMENT"}}`, status, msg)
	}
	if want := "/v1/projects/" + s.Project + "/messages:send"; r.Method != http.MethodPost || r.URL.Path != want {
		refuse(404, "request %s %s, want POST %s", r.Method, r.URL.Path, want)
		return
	}
	auth := r.Header.Get("Authorization")
	if s.RequireAuth && (len(auth) < 8 || auth[:7] != "Bearer ") {
		refuse(401, "no bearer token")
		return
	}
	var req struct {
		Message      json.RawMessage `json:"message"`
		ValidateOnly *bool           `json:"validateOnly"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Message == nil {
		refuse(400, "body is not {\"message\":{…}}: %v", err)
		return
	}
	m, err := parseMessage(req.Message)
	if err != nil {
		refuse(400, "message: %v", err)
		return
	}
	s.mu.Lock()
	s.attempts[m.Token]++
	f, scripted := s.always[m.Token]
	if !scripted && len(s.script[m.Token]) > 0 {
		f, scripted = s.script[m.Token][0], true
		s.script[m.Token] = s.script[m.Token][1:]
	}
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if scripted {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	s.mu.Lock()
	s.accepted++
	if !s.CountOnly {
		s.got = append(s.got, Received{Token: m.Token, Auth: auth, Message: m, At: time.Now()})
		s.arrived <- struct{}{}
	}
	s.mu.Unlock()
	fmt.Fprintf(w, `{"name":"projects/%s/messages/%d"}`, s.Project, time.Now().UnixNano())
}
