package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vividly-edu/notifications/shared/logging"
)

// errOriginRefused answers a CORS preflight from an origin not in ALLOWED_ORIGINS.
var errOriginRefused = &apiError{status: http.StatusForbidden, msg: "origin not allowed"}

// maxBody bounds every request body (docs/PROTOCOL.md: 413 over 64 KiB).
const maxBody = 64 << 10

// maxHeaderBytes bounds a request's line and headers (http.Server.MaxHeaderBytes; Go
// allows 4 KiB of slack over it): room for an 8 KiB token (auth.MaxTokenBytes) and
// ordinary headers; anything bigger is 431 before a handler runs.
const maxHeaderBytes = 16 << 10

// withTrace puts the request's trace (traceparent, or X-Cloud-Trace-Context) into its
// context, once for every route: whatever a handler logs under r.Context() carries it.
func withTrace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(logging.WithTrace(r.Context(), r.Header)))
	})
}

// securityHeaders sets headers that make the API's answers inert in a browser: never
// sniffed into HTML, never framed, never leaking the URL (which may hold a ticket).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// cors lets listed origins call the API with credentials. Unlisted origins get no CORS
// headers (the browser then withholds the answer); their preflights are refused.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		// The API, and the client's modules: an app on a listed origin imports them
		// cross-origin, and a module script is fetched with CORS.
		if origin == "" || !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/client/") {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := s.origins[origin]
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				errOriginRefused.write(w)
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			// A cross-origin page sees only safelisted headers unless told: the client
			// needs Retry-After to back off as a 429 or 503 asks.
			h.Set("Access-Control-Expose-Headers", "Retry-After")
		}
		next.ServeHTTP(w, r)
	})
}

// boundRead bounds reading the whole request, body included, to d from the moment its
// headers are in (READ_HEADER_TIMEOUT bounds those): a client trickling a body, or
// never finishing one the handler does not read (net/http then reads it to reuse the
// connection), is cut off at d and its goroutine and file released. The stream route
// sets the same deadline itself and lifts it when its response starts. (A server-wide
// http.Server.ReadTimeout would also spare a stream whose connection is taken over —
// the takeover clears deadlines, tested — but it would bound every route implicitly;
// this keeps the one exemption explicit, in the stream's own code.)
func boundRead(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		next.ServeHTTP(w, r)
	})
}

// limitBody answers 413 to a body over maxBody.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			errBodyTooLarge.write(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// tooLarge reports whether err came from reading past maxBody.
func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// readJSON reads the body into v as JSON, leniently (unknown fields are ignored: a
// browser's PushSubscription JSON carries more than we keep). Its error is a 413 (over
// maxBody) or a 400 (with hint). decodeBody (read.go) is the strict kind.
func readJSON(r *http.Request, v any, hint string) error {
	body, err := io.ReadAll(r.Body)
	switch {
	case err != nil && tooLarge(err):
		return errBodyTooLarge
	case err != nil:
		return errUnreadable
	case json.Unmarshal(body, v) != nil:
		return badRequest(hint)
	}
	return nil
}
