package webpush

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSendStatuses(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ps := newPushService(t, cfg.PublicKey, cfg.Subject)
	sender, err := NewSender(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := Message{Payload: []byte(`{"id":"1-0","type":"video_complete"}`), Urgency: UrgencyHigh, TTL: time.Hour}
	for _, c := range []struct {
		status          int
		gone, temporary bool
	}{
		{http.StatusCreated, false, false},
		{http.StatusGone, true, false},
		{http.StatusNotFound, true, false},
		{http.StatusTooManyRequests, false, true},
		{http.StatusServiceUnavailable, false, true},
		{http.StatusBadRequest, false, false},
		{http.StatusForbidden, false, false},
		{http.StatusRequestEntityTooLarge, false, false},
	} {
		sub := ps.subscribe("/sub/secret-token-"+http.StatusText(c.status), c.status)
		err := sender.Send(context.Background(), sub, msg)
		if c.status == http.StatusCreated {
			if err != nil {
				t.Errorf("201: %v", err)
			}
			continue
		}
		var se *SendError
		if !errors.As(err, &se) || se.Status != c.status || errors.Is(err, ErrGone) != c.gone || se.Temporary != c.temporary {
			t.Errorf("%d: %#v", c.status, err)
			continue
		}
		if c.temporary && se.RetryAfter != time.Second {
			t.Errorf("%d: RetryAfter %v, want the service's 1s", c.status, se.RetryAfter)
		}
		if strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%d: error %q repeats the endpoint path", c.status, err)
		}
	}
	// Too big for one push: refused before anything is sent.
	big := Message{Payload: make([]byte, MaxPayload+1), TTL: time.Hour}
	if err := sender.Send(context.Background(), ps.subscribe("/sub/big"), big); err == nil {
		t.Error("oversized payload sent")
	}
}

func TestSendRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ps := newPushService(t, cfg.PublicKey, cfg.Subject)
	cfg.AllowLoopback = false
	sender, err := NewSender(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The store would refuse this endpoint; the dialer is the second line, for names
	// that resolve to internal addresses.
	err = sender.Send(context.Background(), ps.subscribe("/sub/secret-token"), Message{Payload: []byte(`{}`), TTL: time.Hour})
	var se *SendError
	if !errors.As(err, &se) || se.Temporary || !strings.Contains(err.Error(), "refusing non-public address") ||
		strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("push to loopback without PUSH_ALLOW_LOOPBACK: %v", err)
	}
	if len(ps.Attempts("/sub/secret-token")) != 0 {
		t.Fatal("the request reached the loopback server")
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "120": 2 * time.Minute, "-1": 0, "soon": 0,
		now.Add(30 * time.Second).Format(http.TimeFormat): 30 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// BenchmarkSend times the whole send path (ephemeral ECDH, HKDF, AES-GCM, VAPID ES256
// signature, HTTP/1.1 over loopback to a stand-in that only answers 201) and reports
// the process CPU time per 1,000 pushes, the stand-in's share included:
//
//	go test -run '^$' -bench Send -benchtime 2000x ./stream/internal/webpush/
func BenchmarkSend(b *testing.B) {
	cfg := testConfig(b)
	ps := newPushService(b, cfg.PublicKey, cfg.Subject)
	ps.SetVerify(false)
	sender, err := NewSender(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	sub := ps.subscribe("/sub/bench")
	msg := Message{Payload: []byte(`{"id":"1764174645123-0","type":"video_complete","request_id":"r-123",` +
		`"video_url":"https://cdn.example/v/r-123.mp4","title":"Photosynthesis","created_at":"2026-11-26T16:30:45.123Z"}`),
		Urgency: UrgencyHigh, Topic: "abc", TTL: 24 * time.Hour}
	ctx := context.Background()
	cpu0, n := cpuTime(b), 0
	for b.Loop() {
		if err := sender.Send(ctx, sub, msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n)*1000, "cpu-ms/1000pushes")
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
