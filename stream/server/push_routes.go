package server

import (
	"net/http"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/webpush"
)

const (
	pushOff        = "push notifications are not enabled"
	badPushBody    = `body must be a PushSubscription: {"endpoint":"https://…","keys":{"p256dh":"…","auth":"…"}}`
	tooManyPush    = "at most 10 push subscriptions per user: remove one (DELETE) first"
	unknownPushKey = "public_key is not this service's VAPID key: fetch /api/v1/notifications/push/key and subscribe again"
)

var errPushOff = &apiError{status: http.StatusNotFound, msg: pushOff}

// pushKey serves GET /api/v1/notifications/push/key: {"public_key":"…"}, the current
// VAPID public key the browser subscribes with (applicationServerKey). The key is
// public, so no credential is needed; the request still passes the gate (cross-site
// and blocked-address checks). A client subscribed with another key re-subscribes
// (docs/RUNBOOK.md, "Rotating the VAPID keys").
func (s *Server) pushKey(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.gate(w, r); !ok {
		return
	}
	if s.push == nil || s.push.sender == nil {
		errPushOff.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"public_key": s.push.sender.PublicKey()})
}

// subscribePush serves POST /api/v1/notifications/push/subscriptions (under api:
// admission and the Bearer JWT) with the browser's PushSubscription JSON; unknown
// fields such as expirationTime are ignored. The optional "public_key" names the VAPID
// key the browser subscribed with (the one GET …/push/key gave it); without it the
// current key is recorded. 201 {"public_key":"<recorded key>"}; 400 invalid; 409 when
// the user already has 10 (another endpoint replaces nothing: the client removes one
// first; re-subscribing at a known endpoint always succeeds).
func (s *Server) subscribePush(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	ctx := r.Context()
	sub, err := s.readSubscription(r)
	if err != nil {
		return err
	}
	if sub.PublicKey == "" {
		sub.PublicKey = s.push.sender.PublicKey()
	} else if key, ok := s.push.sender.KeyFor(sub.PublicKey); ok {
		sub.PublicKey = key
	} else {
		return badRequest(unknownPushKey)
	}
	// webpush.ErrInvalidSubscription: 400 with its text, which never repeats the
	// endpoint or keys; ErrTooManySubscriptions: 409.
	if err := s.push.store.Add(ctx, id.UserID, sub); err != nil {
		return failed("push subscribe", err)
	}
	s.recordMembership(ctx, id)
	s.log.InfoContext(ctx, "push subscription added", logging.KeyUserID, id.UserID, "origin", sub.Origin())
	writeJSON(w, http.StatusCreated, map[string]string{"public_key": sub.PublicKey})
	return nil
}

// unsubscribePush serves DELETE /api/v1/notifications/push/subscriptions (under api)
// with the same body as the POST; only its endpoint matters. 204, also when the
// subscription was unknown (idempotent).
func (s *Server) unsubscribePush(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	sub, err := s.readSubscription(r)
	if err != nil {
		return err
	}
	if sub.Endpoint == "" {
		return badRequest(badPushBody)
	}
	if err := s.push.store.Remove(r.Context(), id.UserID, sub.Endpoint); err != nil {
		return failed("push unsubscribe", err)
	}
	noContent(w)
	return nil
}

// readSubscription reads the body's subscription; its error is a 404 when push is off,
// a 413 for a body over 64 KiB and a 400 for one that is not JSON of a subscription's
// shape. Its values are checked by the store.
func (s *Server) readSubscription(r *http.Request) (webpush.Subscription, error) {
	var sub webpush.Subscription
	if s.push == nil || s.push.sender == nil {
		return sub, errPushOff
	}
	return sub, readJSON(r, &sub, badPushBody)
}
