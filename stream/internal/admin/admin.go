// Package admin serves the runtime profiles (net/http/pprof) on a listener of its own,
// so they are never reachable through the public port. Off unless ADMIN_ADDR is set.
package admin

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Start listens on addr and serves /debug/pprof/ until stop is called; stop closes
// the server and returns once its goroutine has. An empty addr serves nothing (stop
// is then a no-op).
func Start(addr string, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return serve(ln, log), nil
}

// serve serves the profiles on ln; the returned stop closes the server and waits for
// its goroutine. http.Server.Close waits only for Serve's accept loop, not for what
// the goroutine does after it (logging a failure).
func serve(ln net.Listener, log *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Warn("admin port serving pprof; keep it off public interfaces", "addr", ln.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server stopped", "error", err.Error())
		}
	}()
	return func() {
		_ = srv.Close()
		<-done
	}
}
