package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestServesProfilesOnItsOwnAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	stop := serve(ln, slog.New(slog.DiscardHandler))
	res, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("status %d: %.100s", res.StatusCode, body)
	}
	stop()
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("admin port still serving after stop")
	}
}

// failingListener's Accept fails for good, so the server's goroutine ends on its own,
// logging the error.
type failingListener struct {
	net.Listener
	accepted chan struct{} // closed at the first Accept
	once     sync.Once
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.accepted) })
	return nil, errors.New("accept failed")
}

// slowLog takes a while to write an error, and records when it starts and when it has.
type slowLog struct {
	slog.Handler
	started chan struct{} // closed when it starts writing the error
	wrote   atomic.Bool
}

func (h *slowLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *slowLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelError {
		close(h.started)
		time.Sleep(100 * time.Millisecond)
		h.wrote.Store(true)
	}
	return nil
}

// TestStopJoinsTheServer: stop returns only once the server's goroutine has, so
// nothing of the admin server outlives the process's shutdown. (http.Server.Close
// waits for Serve's accept loop, not for what the goroutine does after Serve: here,
// logging why it stopped.)
func TestStopJoinsTheServer(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &failingListener{Listener: inner, accepted: make(chan struct{})}
	h := &slowLog{Handler: slog.DiscardHandler, started: make(chan struct{})}
	stop := serve(ln, slog.New(h))
	<-ln.accepted
	// Stop only once the goroutine is logging: a Close before Serve has returned the
	// accept error turns it into ErrServerClosed, which is not logged at all.
	<-h.started
	stop()
	if !h.wrote.Load() {
		t.Fatal("stop returned while the server's goroutine was still logging")
	}
}

func TestOffWithoutAddress(t *testing.T) {
	stop, err := Start("", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stop()
}
