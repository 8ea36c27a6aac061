package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// lateStreams bounds the wait for streams whose connections were closed at the
// shutdown deadline (each then ends at its next write or Redis call, all bounded).
const lateStreams = time.Second

// shutdownDeadline is the longest drain waits for streams to end by themselves: the
// streams close spread over DrainTime (≤ 8 s), and get up to 4 s of slack to finish,
// but never past 8.5 s, so that with lateStreams the process is done within 9.5 s of
// SIGTERM, inside Cloud Run's 10 s before SIGKILL (DrainTime 8 s + 4 s + 2 s used to
// allow 14 s).
const shutdownDeadline = 8500 * time.Millisecond

// Serve runs the broker's live feed and the presence refresh, and serves ln until ctx
// ends (or serving or the feed fails); then it stops accepting, ends every stream
// (spread over DrainTime) and returns within 9.5 s (see shutdownDeadline).
//
// Every goroutine Serve starts has returned when it returns — streams, the feed (the
// broker's Run), the presence refresh, the heartbeat clock, the push worker, the hub's
// background unsubscribes, the metrics server on METRICS_ADDR — so the caller may close
// the broker's client at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	metrics, err := s.startMetrics()
	if err != nil {
		return err
	}
	// The background work outlives the streams (they read presence and the hub), so it
	// has a context of its own, cancelled after the streams have ended.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	feedDone := make(chan error, 1)
	background.Go(func() { feedDone <- s.broker.Run(bgCtx, sink{s}) })
	background.Go(func() { s.refreshPresence(bgCtx) })
	if s.rooms != nil {
		background.Go(func() { s.rooms.Run(bgCtx) }) // room leases and presence
	}
	heartbeats := newBeat(s.cfg.Heartbeat) // the streams' one clock; it outlives them too
	s.beat.Store(heartbeats)
	defer s.beat.Store(nil)
	background.Go(func() { heartbeats.run(bgCtx) })
	// The push worker stops as soon as shutdown starts, alongside the drain: its work
	// (entries it has not finished) passes to the other instances.
	pushCtx, stopPush := context.WithCancel(context.Background())
	defer stopPush()
	background.Go(func() { s.runPush(pushCtx) })
	// So does the releaser of scheduled notifications: what it claimed and did not
	// finish goes to another instance when its lease (400 ms) runs out.
	background.Go(func() { s.runRelease(pushCtx) })

	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		// Reading a request, body included, is bounded per request (boundRead, and the
		// stream until its response starts) rather than by ReadTimeout.
		MaxHeaderBytes: maxHeaderBytes,
		IdleTimeout:    2 * time.Minute,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.Background() },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("stream service listening", "addr", ln.Addr().String())

	select {
	case err = <-serveErr:
		serveErr = nil // received: the goroutine has returned
	case ferr := <-feedDone:
		err = errors.Join(errors.New("broker feed stopped"), ferr)
	case <-ctx.Done():
	}
	stopPush()
	err = errors.Join(err, s.drain(srv))
	if serveErr != nil {
		<-serveErr // ErrServerClosed, now that srv is shut down
	}
	stopBackground()
	background.Wait()
	s.hub.Wait()
	s.closePush()
	return errors.Join(err, metrics.stop())
}

// drain stops accepting, tells every stream to end (each at a random moment within
// DrainTime, with a retry hint) and waits for them. Streams still open at the deadline
// have their connections closed and are waited for a little longer.
func (s *Server) drain(srv *http.Server) error {
	s.log.Info("shutting down: closing streams", "drain", s.cfg.DrainTime.String())
	s.connsMu.Lock()
	s.closing = true // no stream registers from now on: the Wait below is safe
	s.connsMu.Unlock()
	close(s.draining)

	ctx, cancel := context.WithTimeout(context.Background(), min(s.cfg.DrainTime+4*time.Second, shutdownDeadline))
	defer cancel()
	err := srv.Shutdown(ctx) // waits for the stream handlers, which are ending
	if err != nil {
		_ = srv.Close()
	}
	// Shutdown does not know the connections taken over from it; they end on the drain
	// signal too, and Serve counts them itself.
	if s.waitStreams(ctx) {
		return err
	}
	err = errors.Join(err, errors.New("streams still open at the shutdown deadline: their connections were closed"))
	s.closeTakenOver()
	late, cancelLate := context.WithTimeout(context.Background(), lateStreams)
	defer cancelLate()
	if !s.waitStreams(late) {
		err = errors.Join(err, errors.New("streams still running after their connections were closed"))
	}
	return err
}

// waitStreams waits for every registered stream to close, or for ctx to end; it
// reports whether they all closed.
func (s *Server) waitStreams(ctx context.Context) bool {
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// sink counts resyncs on their way to the hub.
type sink struct{ s *Server }

func (k sink) Deliver(source string, e notification.Envelope) { k.s.hub.Deliver(source, e) }
func (k sink) Resync() {
	k.s.metrics.Resyncs.Inc()
	k.s.log.Warn("pub/sub connection replaced: replaying every stream from its log")
	k.s.hub.Resync()
}

// Control passes a control message on: erase.go's control acts on an erasure here and
// hands the others to the hub.
func (k sink) Control(userID string, c broker.Control) { k.control(userID, c) }
