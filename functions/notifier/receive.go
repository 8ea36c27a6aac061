package notifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/logging"
)

// MaxBodyBytes bounds what ServeHTTP reads of a request. A routable job or announcement
// is at most notification.MaxDataBytes (64 KiB) of message.data, base64-encoded (4/3) inside an
// envelope whose Pub/Sub attributes are bounded too (100 × 1 KiB values); anything
// larger can only be refused, and it is refused without reading it all.
const MaxBodyBytes = 1 << 20

// ServeHTTP receives one delivery: a CloudEvent in binary mode (ce-* headers, what
// Eventarc sends) or structured mode (Content-Type application/cloudevents+json), or a
// plain Pub/Sub push body (neither). Register it with the Functions Framework as an
// HTTP function (functions.HTTP).
//
// Each request is parsed and handled here, in the goroutine net/http runs it in, with
// the CloudEvents SDK's HTTP binding (cehttp.NewMessageFromHttpRequest, then
// binding.ToEvent): nothing is handed to another goroutine, so no request can wait on
// another one. (The Functions Framework's CloudEvent path passes every request through
// one shared unbuffered channel to a per-request consumer goroutine, and a consumer
// that leaves with its client's cancellation orphans another request's send forever:
// cloudevents/sdk-go#1224, #1332.)
//
// Both entry points serve this way; what they do with the message's data differs
// (Handler.handle).
//
// Answers: 200 once the notification is stored and published, for a duplicate, and
// for input refused as permanent (logged at ERROR and counted, so Pub/Sub does not
// redeliver it forever); 500 when Redis failed (Pub/Sub retries); 400 for a request
// that is not a valid CloudEvent (or not a push body); 415 for a CloudEvent encoding
// the SDK does not know; 405 for anything but POST.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "POST a CloudEvent or a Pub/Sub push body")
		return
	}
	start := h.now()
	ctx := logging.WithTrace(r.Context(), r.Header)
	body := &readErr{ReadCloser: http.MaxBytesReader(w, r.Body, MaxBodyBytes)}
	r.Body = body
	var d delivery
	if isCloudEvent(r.Header) {
		d = h.readEvent(ctx, r, body)
	} else {
		d = readPush(r)
	}
	switch {
	case tooBig(d.readErr):
		// Over MaxBodyBytes it cannot hold a routable message (over 64 KiB of data):
		// a permanent error like any other refused input.
		h.reject(ctx, "malformed", r.Header.Get("Ce-Id"), fmt.Errorf("request body is over %d bytes", MaxBodyBytes))
		w.WriteHeader(http.StatusOK)
	case body.err != nil:
		// The client left mid-body (or sent a broken one): nobody is waiting for the
		// answer, and nothing was read that could be acknowledged.
		httpError(w, http.StatusBadRequest, "reading the body failed")
	case d.status != 0:
		httpError(w, d.status, d.text)
	default:
		if err := h.process(ctx, start, d.msg, d.decodeErr, d.id); err != nil {
			httpError(w, http.StatusInternalServerError, "storing the notification failed; retry")
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

// delivery is what a request carried: a decoded Pub/Sub message or the reason it is refused
// (decodeErr, acknowledged), or an answer for a request that is not a delivery at all
// (status and text), or the error reading its body failed with.
type delivery struct {
	msg       eventarc.Delivery
	decodeErr error
	id        string // the CloudEvent id, to log a refusal under when the data has none
	status    int
	text      string
	readErr   error
}

// readEvent parses a CloudEvent with the SDK's HTTP binding, in this goroutine.
func (h *Handler) readEvent(ctx context.Context, r *http.Request, body *readErr) delivery {
	e, err := binding.ToEvent(ctx, cehttp.NewMessageFromHttpRequest(r))
	if err == nil {
		err = e.Validate()
	}
	switch {
	case body.err != nil: // the body, not the event, is at fault (too big, or cut off)
		return delivery{readErr: body.err}
	case errors.Is(err, binding.ErrUnknownEncoding):
		return delivery{status: http.StatusUnsupportedMediaType, text: "unknown CloudEvent encoding"}
	case err != nil:
		// Eventarc never sends this; whoever did gets the reason (as the SDK's receiver
		// answered it), and a WARN line says it happened.
		reason := bounded(err.Error())
		h.log.WarnContext(ctx, "request is not a valid CloudEvent", logging.KeyReason, reason)
		return delivery{status: http.StatusBadRequest, text: "not a valid CloudEvent: " + reason}
	}
	msg, err := eventarc.DecodeEventDelivery(*e)
	return delivery{msg: msg, decodeErr: err, id: e.ID()}
}

// readPush reads a plain Pub/Sub push body (the message id is in the body).
func readPush(r *http.Request) delivery {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return delivery{readErr: err}
	}
	msg, err := eventarc.DecodeDelivery(data, "")
	return delivery{msg: msg, decodeErr: err}
}

// isCloudEvent tells a CloudEvent (binary mode: ce-* headers; structured mode: a
// cloudevents media type) from a plain Pub/Sub push body, as the Functions Framework
// does before converting the latter.
func isCloudEvent(h http.Header) bool {
	if h.Get("Ce-Specversion") != "" || h.Get("Ce-Id") != "" {
		return true
	}
	return strings.Contains(strings.ToLower(h.Get("Content-Type")), "cloudevents")
}

// readErr remembers the error reading the body failed with, so a client that left
// mid-body is not mistaken for a malformed CloudEvent.
type readErr struct {
	io.ReadCloser
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func tooBig(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// bounded cuts an error text for a log line or an answer: the SDK's messages may quote
// header values.
func bounded(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}

// httpError writes a short plain-text answer.
func httpError(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, text+"\n")
}
