package webpush

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Issue 23 #3: the dialer refuses every IANA special-purpose block (not only what
// net.IP.IsPrivate knows) and any port but 443.
func TestSecurity_PushDialRefusesSpecialPurpose(t *testing.T) {
	t.Parallel()
	refused := []string{
		"100.64.0.1:443", "100.127.255.254:443", "198.18.0.1:443", "198.19.255.255:443", "192.0.0.8:443",
		"240.0.0.1:443", "255.255.255.255:443", "0.1.2.3:443", "10.0.0.1:443", "169.254.169.254:443",
		"127.0.0.1:443", "[::1]:443", "[64:ff9b::a00:1]:443", "[2002:a00:1::]:443", "[::a00:1]:443",
		"[fec0::1]:443", "[fc00::1]:443", "[fe80::1]:443", "[::ffff:10.0.0.1]:443", "[ff02::1]:443",
		"[2001:db8::1]:443", "[2001::1]:443",
		"8.8.8.8:80", "8.8.8.8:8443", "[2606:4700::1111]:22", // public, but not the push port
	}
	for _, a := range refused {
		if err := checkDial(a, false); !errors.Is(err, errNonPublic) {
			t.Errorf("checkDial(%s) = %v, want refused", a, err)
		}
	}
	for _, a := range []string{"142.250.185.10:443", "[2a00:1450:4001:82b::200a]:443"} { // FCM's
		if err := checkDial(a, false); err != nil {
			t.Errorf("checkDial(%s) = %v, want allowed", a, err)
		}
	}
	if err := checkDial("127.0.0.1:8080", true); err != nil {
		t.Errorf("loopback with PUSH_ALLOW_LOOPBACK: %v", err)
	}
}

// Issue 23 #3: endpoint hosts written as numbers in any notation resolvers accept, or
// under special-use names, are refused when the subscription is stored.
func TestSecurity_PushEndpointHostsStrict(t *testing.T) {
	t.Parallel()
	for _, host := range []string{
		"127.1", "0177.0.0.1", "0x7f.0.0.1", "2130706433", "0x7f000001", "localhost.", "foo.localhost",
		"LOCALHOST", "printer.local", "metadata.google.internal", "a..b", "-a.example.com", "a_b.example.com",
		"push.example.com:8443", "[::1]", "127.0.0.1", "x.test", "1.2.3.4.",
	} {
		if err := validEndpoint("https://"+host+"/push/abc", false); err == nil {
			t.Errorf("endpoint host %q accepted", host)
		}
	}
	for _, ok := range []string{
		"https://fcm.googleapis.com/fcm/send/abc:def", "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
		"https://web.push.apple.com/QGm", "https://wns2-par02p.notify.windows.com/w/?token=x", "https://fcm.googleapis.com:443/x",
	} {
		if err := validEndpoint(ok, false); err != nil {
			t.Errorf("real push endpoint %s refused: %v", ok, err)
		}
	}
}

// Issue 23 #3: a subscription whose endpoint resolves to a refused address is removed
// at the first attempt (it can never work), not retried for RetryFor.
func TestSecurity_PushRefusedDialRemovesSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.cfg.AllowLoopback = false
	sender, err := NewSender(e.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := e.subscribe("u-dial", "/sub/internal")
	err = sender.Send(context.Background(), sub, Message{Payload: []byte(`{}`), TTL: time.Hour})
	var se *SendError
	if !errors.As(err, &se) || se.Temporary || !errors.Is(err, ErrGone) {
		t.Fatalf("refused dial: %v; want a permanent ErrGone", err)
	}
}

// Issue 23 #2: a push endpoint answering with megabytes of headers costs a bounded
// allocation (MaxResponseHeaderBytes), not Go's 10 MB default per push.
func TestSecurity_PushResponseHeadersBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				_, _ = c.Read(buf)
				_, _ = c.Write([]byte("HTTP/1.1 201 Created\r\n"))
				line := []byte("X-Pad: " + strings.Repeat("a", 8<<10) + "\r\n")
				for range 9 << 20 / len(line) { // 9 MB of headers
					if _, err := c.Write(line); err != nil {
						return
					}
				}
				_, _ = c.Write([]byte("\r\n"))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	cfg := testConfig(t)
	sender, err := NewSender(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := newPushService(t, cfg.PublicKey, cfg.Subject)
	sub := ps.subscribe("/sub/x")
	sub.Endpoint = "http://" + ln.Addr().String() + "/push"
	msg := Message{Payload: []byte(`{"id":"1-0"}`), TTL: time.Hour}
	var before, after runtime.MemStats
	const pushes = 3
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range pushes {
		if err := sender.Send(context.Background(), sub, msg); err == nil {
			t.Fatal("a response with 9 MB of headers was accepted")
		}
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / pushes
	t.Logf("allocated per push to an endpoint sending 9 MB of headers: %d KB", per>>10)
	if per > 1<<20 {
		t.Errorf("allocated %d KB per push, want well under 1 MB", per>>10)
	}
}

// Issue 23 #2: one user's pushes hold at most perUserSends requests at once, however
// many subscriptions the user has.
func TestSecurity_PushSendsPerUserCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *WorkerOptions) { o.Concurrency, o.PerOrigin = 32, 32 })
	paths := []string{}
	for i := range 10 {
		p := "/sub/many-" + string(rune('a'+i))
		paths = append(paths, p)
		e.subscribe("u-many", p, hang, hang)
	}
	e.run(e.worker)
	e.enqueue("u-many", "1-0", "video_complete")
	time.Sleep(500 * time.Millisecond) // the worker has started what it will start
	n := 0
	for _, p := range paths {
		n += len(e.ps.Attempts(p))
	}
	if n != perUserSends {
		t.Errorf("%d requests of one user on the wire at once, want %d", n, perUserSends)
	}
}
