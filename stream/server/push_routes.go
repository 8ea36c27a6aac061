package server

import (
	"errors"
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
		writeError(w, http.StatusNotFound, pushOff, 0)
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
func (s *Server) subscribePush(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	sub, ok := s.readSubscription(w, r)
	if !ok {
		return
	}
	if sub.PublicKey == "" {
		sub.PublicKey = s.push.sender.PublicKey()
	} else if sub.PublicKey, ok = s.push.sender.KeyFor(sub.PublicKey); !ok {
		writeError(w, http.StatusBadRequest, unknownPushKey, 0)
		return
	}
	err := s.push.store.Add(ctx, id.UserID, sub)
	switch {
	case errors.Is(err, webpush.ErrInvalidSubscription):
		writeError(w, http.StatusBadRequest, err.Error(), 0) // never repeats the endpoint or keys
		return
	case errors.Is(err, webpush.ErrTooManySubscriptions):
		writeError(w, http.StatusConflict, tooManyPush, 0)
		return
	case err != nil:
		s.unavailable(ctx, w, id.UserID, "push subscribe", err)
		return
	}
	s.recordMembership(ctx, id)
	s.log.InfoContext(ctx, "push subscription added", logging.KeyUserID, id.UserID, "origin", sub.Origin())
	writeJSON(w, http.StatusCreated, map[string]string{"public_key": sub.PublicKey})
}

// unsubscribePush serves DELETE /api/v1/notifications/push/subscriptions (under api)
// with the same body as the POST; only its endpoint matters. 204, also when the
// subscription was unknown (idempotent).
func (s *Server) unsubscribePush(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	sub, ok := s.readSubscription(w, r)
	if !ok {
		return
	}
	if sub.Endpoint == "" {
		writeError(w, http.StatusBadRequest, badPushBody, 0)
		return
	}
	if err := s.push.store.Remove(ctx, id.UserID, sub.Endpoint); err != nil {
		s.unavailable(ctx, w, id.UserID, "push unsubscribe", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// readSubscription answers 404 when push is off, 413 for a body over 64 KiB and 400 for
// one that is not JSON of a subscription's shape; its values are checked by the store.
func (s *Server) readSubscription(w http.ResponseWriter, r *http.Request) (webpush.Subscription, bool) {
	var sub webpush.Subscription
	if s.push == nil || s.push.sender == nil {
		writeError(w, http.StatusNotFound, pushOff, 0)
		return sub, false
	}
	return sub, readJSON(w, r, &sub, badPushBody)
}
