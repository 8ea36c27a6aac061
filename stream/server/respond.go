package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

// Every error answer of the service (docs/PROTOCOL.md "Endpoints") is chosen here: a
// handler returns an *apiError, or a collaborator's error wrapped by failed, and
// respond maps it to the status, the {"error": …} body, Retry-After, the refusal
// metric's reason and — for a failure of ours — the log line.

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is an answer the client is meant to read: status, {"error": msg}, a
// Retry-After in seconds when retryAfter > 0, and the reason sse_connection_errors_total
// counts it under ("" when it is not a refusal the metric counts: bad input, a feature
// that is off, a lookup that found nothing).
type apiError struct {
	status     int
	reason     string
	msg        string
	retryAfter int
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) *apiError { return &apiError{status: http.StatusBadRequest, msg: msg} }

// The answers several routes share.
var (
	errBodyTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, msg: "request body over 64 KiB"}
	errUnreadable   = badRequest("unreadable body")
	// errUnavailable hides a failure of ours (Redis, mostly) behind one retryable answer.
	errUnavailable = &apiError{status: http.StatusServiceUnavailable, reason: "broker", msg: "temporarily unavailable", retryAfter: 1}
)

// write sends e. Nothing may have been written to w before.
func (e *apiError) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, map[string]string{"error": e.msg})
}

// stepError is a collaborator's error and the step of the handler that got it.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// failed wraps the error a collaborator (broker, store) returned at step; nil stays
// nil. respond then tells the client's mistakes (clientErrors) from our failures.
func failed(step string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: step, err: err}
}

// clientErrors are the collaborators' errors that mean the request must change: msg ""
// answers the error's own text, which names what to fix and never repeats the value.
var clientErrors = []struct {
	err    error
	status int
	msg    string
}{
	{broker.ErrInvalid, http.StatusBadRequest, ""},
	{errNoBefore, http.StatusBadRequest, ""},
	{webpush.ErrInvalidSubscription, http.StatusBadRequest, ""},
	{fcm.ErrInvalidDevice, http.StatusBadRequest, ""},
	{webpush.ErrTooManySubscriptions, http.StatusConflict, tooManyPush},
	{fcm.ErrTooManyDevices, http.StatusConflict, tooManyDevice},
	{redisbroker.ErrNoGroupNotification, http.StatusNotFound, "no such group notification"},
}

// classify maps err to its answer, and for a failure of ours to the step and cause to
// log (cause nil: nothing to log, the client was answered what it needs to know).
func classify(err error) (e *apiError, step string, cause error) {
	if errors.As(err, &e) {
		return e, "", nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errBodyTooLarge, "", nil
	}
	var se *stepError
	if errors.As(err, &se) {
		step, err = se.step, se.err
	}
	for _, c := range clientErrors {
		if errors.Is(err, c.err) {
			msg := c.msg
			if msg == "" {
				msg = err.Error()
			}
			return &apiError{status: c.status, msg: msg}, "", nil
		}
	}
	return errUnavailable, step, err
}

// respond answers err on route (a ServeMux pattern) for user ("" before one is
// known): a failure of ours is logged with the route and the step, never answered
// with its details.
func (s *Server) respond(ctx context.Context, w http.ResponseWriter, route, user string, err error) {
	e, step, cause := classify(err)
	if cause != nil {
		s.log.ErrorContext(ctx, "request failed", "route", route, "step", step,
			logging.KeyUserID, user, logging.KeyError, cause.Error())
	}
	s.answer(w, e)
}

// answer counts e when it is a refusal, and sends it.
func (s *Server) answer(w http.ResponseWriter, e *apiError) {
	if e.reason != "" {
		s.metrics.ConnErrors.WithLabelValues(e.reason).Inc()
	}
	e.write(w)
}

// refuse answers a refusal made before an API handler runs — admission, and the
// stream's and the room socket's own checks, which must answer before their response
// starts and so cannot return an error to api.
func (s *Server) refuse(w http.ResponseWriter, status int, reason, msg string, retryAfter int) {
	s.answer(w, &apiError{status: status, reason: reason, msg: msg, retryAfter: retryAfter})
}

// unavailable answers the stream's open when a collaborator failed at step (the
// stream's conn answers before its response starts; see stream.go).
func (s *Server) unavailable(ctx context.Context, w http.ResponseWriter, user, step string, err error) {
	s.respond(ctx, w, streamPath, user, failed(step, err))
}

// truncate bounds client-supplied text before it is logged.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
