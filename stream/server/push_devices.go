package server

import (
	"errors"
	"net/http"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/fcm"
)

const (
	fcmOff        = "push to apps (FCM) is not enabled"
	badDeviceBody = `body must be {"token":"<FCM registration token>","platform":"android"|"ios"|"web"}`
	tooManyDevice = "at most 10 push devices per user: remove one (DELETE) first"
)

// registerDevice serves POST /api/v1/notifications/push/devices (under api: admission
// and the Bearer JWT) with {"token","platform"}: 201 for a new token, 200 when it was
// registered already (its platform updated, its TTL renewed), 400 for a token outside
// 1–4096 characters of [A-Za-z0-9_:-] or an unknown platform, 409 when the user has 10.
func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	d, ok := s.readDevice(w, r)
	if !ok {
		return
	}
	created, err := s.push.devices.Add(ctx, id.UserID, d)
	switch {
	case errors.Is(err, fcm.ErrInvalidDevice):
		writeError(w, http.StatusBadRequest, err.Error(), 0) // never repeats the token
		return
	case errors.Is(err, fcm.ErrTooManyDevices):
		writeError(w, http.StatusConflict, tooManyDevice, 0)
		return
	case err != nil:
		s.unavailable(ctx, w, id.UserID, "push device register", err)
		return
	}
	s.recordMembership(ctx, id)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.log.InfoContext(ctx, "push device added", logging.KeyUserID, id.UserID, "platform", d.Platform)
	}
	writeJSON(w, status, map[string]string{"platform": d.Platform})
}

// unregisterDevice serves DELETE /api/v1/notifications/push/devices with the same
// body; only the token matters. 204, also for an unknown token (idempotent).
func (s *Server) unregisterDevice(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	d, ok := s.readDevice(w, r)
	if !ok {
		return
	}
	if d.Token == "" {
		writeError(w, http.StatusBadRequest, badDeviceBody, 0)
		return
	}
	if err := s.push.devices.Remove(ctx, id.UserID, d.Token); err != nil {
		s.unavailable(ctx, w, id.UserID, "push device unregister", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// readDevice answers 404 when FCM is off, 413 for a body over 64 KiB and 400 for one
// that is not JSON of a device's shape; its values are checked by the store.
func (s *Server) readDevice(w http.ResponseWriter, r *http.Request) (fcm.Device, bool) {
	var d fcm.Device
	if s.push == nil || s.push.devices == nil {
		writeError(w, http.StatusNotFound, fcmOff, 0)
		return d, false
	}
	return d, readJSON(w, r, &d, badDeviceBody)
}
