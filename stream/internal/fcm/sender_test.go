package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/option"

	"github.com/vividly-edu/notifications/stream/internal/fcm/fcmtest"
)

func newSender(t *testing.T, srv *fcmtest.Server, opts ...option.ClientOption) *Sender {
	t.Helper()
	s, err := NewSender(context.Background(), Config{ProjectID: srv.Project, Endpoint: srv.Endpoint()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSendMessageShape: the request is the contract's v1 message, field for field, and
// carries the bearer token when credentials are there.
func TestSendMessageShape(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New("vividly-test")
	defer srv.Close()
	srv.RequireAuth = true
	s := newSender(t, srv, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.test"})))
	now := time.Unix(1_800_000_000, 0)
	data := `{"id":"1-0","type":"video_failed","severity":"error","title":"Intro","created_at":"x"}`
	for _, tc := range []struct {
		name                    string
		high                    bool
		wantPriority, wantAPNsP string
	}{{"high", true, "HIGH", "10"}, {"normal", false, "NORMAL", "5"}} {
		err := s.Send(context.Background(), "tok-"+tc.name, Message{Data: data, Title: "Video failed", Body: "Intro",
			High: tc.high, TTL: 3600*time.Second + 400*time.Millisecond, CollapseKey: "abc_-123"}, now)
		if err != nil {
			t.Fatalf("%s: %v (violations %v)", tc.name, err, srv.Violations())
		}
		got := srv.Received()[len(srv.Received())-1]
		if got.Auth != "Bearer ya29.test" {
			t.Errorf("Authorization = %q", got.Auth)
		}
		m := got.Message
		if m.Token != "tok-"+tc.name || m.Title != "Video failed" || m.Body != "Intro" {
			t.Errorf("token/notification = %q %q %q", m.Token, m.Title, m.Body)
		}
		if m.Data["notification"] != data || len(m.Data) != 1 {
			t.Errorf("data = %v, want only notification = the SSE data", m.Data)
		}
		if m.Priority != tc.wantPriority || m.TTL != "3600s" || m.CollapseKey != "abc_-123" {
			t.Errorf("android = %q %q %q", m.Priority, m.TTL, m.CollapseKey)
		}
		want := map[string]string{"apns-priority": tc.wantAPNsP, "apns-expiration": "1800003600", "apns-collapse-id": "abc_-123"}
		for k, v := range want {
			if m.APNsHeaders[k] != v {
				t.Errorf("apns %s = %q, want %q", k, m.APNsHeaders[k], v)
			}
		}
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Fatal(v)
	}
}

// TestSendWithoutADC: FCM_ENDPOINT with no credentials file sends without OAuth, and a
// stand-in that requires a bearer token refuses it (so the test above can fail).
func TestSendWithoutADC(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	srv := fcmtest.New("p1")
	defer srv.Close()
	s := newSender(t, srv)
	if err := s.Send(context.Background(), "t", Message{Data: "{}", Title: "x", TTL: time.Hour}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if a := srv.Received()[0].Auth; a != "" {
		t.Fatalf("Authorization = %q, want none", a)
	}
	srv.RequireAuth = true
	var se *SendError
	if err := s.Send(context.Background(), "t", Message{Data: "{}", Title: "x", TTL: time.Hour}, time.Now()); !errors.As(err, &se) || se.Status != 401 {
		t.Fatalf("without a bearer against RequireAuth: %v", err)
	}
}

// TestSendErrors: FCM's documented error bodies are classified as the contract says.
func TestSendErrors(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New("p2")
	defer srv.Close()
	s := newSender(t, srv, option.WithoutAuthentication())
	for _, tc := range []struct {
		name            string
		f               fcmtest.Failure
		gone, temporary bool
		retryAfter      time.Duration
	}{
		{"unregistered", fcmtest.Unregistered, true, false, 0},
		{"invalid token", fcmtest.InvalidToken, true, false, 0},
		{"invalid other", fcmtest.InvalidOther, false, false, 0},
		{"quota", fcmtest.QuotaExceeded(7), false, true, 7 * time.Second},
		{"unavailable", fcmtest.Unavailable, false, true, 0},
		{"internal", fcmtest.Internal, false, true, 0},
	} {
		tok := strings.ReplaceAll(tc.name, " ", "-")
		srv.FailNext(tok, tc.f)
		err := s.Send(context.Background(), tok, Message{Data: "{}", Title: "x", TTL: time.Hour}, time.Now())
		var se *SendError
		if !errors.As(err, &se) {
			t.Fatalf("%s: %v, want a SendError", tc.name, err)
		}
		if se.Gone != tc.gone || se.Temporary != tc.temporary || se.RetryAfter != tc.retryAfter {
			t.Errorf("%s: gone=%v temporary=%v retryAfter=%v, want %v %v %v", tc.name, se.Gone, se.Temporary,
				se.RetryAfter, tc.gone, tc.temporary, tc.retryAfter)
		}
		if strings.Contains(err.Error(), tok) {
			t.Errorf("%s: error %q repeats the token", tc.name, err)
		}
	}
}

// TestSendTimeout: a hanging FCM costs one attempt of at most AttemptTimeout, reported
// as temporary.
func TestSendTimeout(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New("p3")
	defer srv.Close()
	srv.SetDelay(time.Minute)
	s := newSender(t, srv, option.WithoutAuthentication())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, "slow", Message{Data: "{}", Title: "x", TTL: time.Hour}, time.Now())
	var se *SendError
	if !errors.As(err, &se) || !se.Temporary {
		t.Fatalf("hanging FCM: %v, want a temporary SendError", err)
	}
}

// TestMessageRoundTrip: the handoff encoding keeps every field.
func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	m := Message{Data: `{"a":1}`, Title: "T", Body: "B", High: true, TTL: time.Hour, CollapseKey: "k"}
	b, _ := json.Marshal(m)
	var got Message
	if err := json.Unmarshal(b, &got); err != nil || got != m {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		c  Config
		ok bool
	}{
		"off":                {Config{}, true},
		"on":                 {Config{ProjectID: "vividly-prod", Concurrency: 1}, true},
		"endpoint alone":     {Config{Endpoint: "http://127.0.0.1:1/"}, false},
		"bad project":        {Config{ProjectID: "Vividly/x", Concurrency: 1}, false},
		"no concurrency":     {Config{ProjectID: "p"}, false},
		"endpoint with proj": {Config{ProjectID: "p", Endpoint: "http://127.0.0.1:1/", Concurrency: 4}, true},
	} {
		if err := tc.c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", name, err, tc.ok)
		}
	}
}
