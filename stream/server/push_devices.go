package server

import (
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
func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	ctx := r.Context()
	d, err := s.readDevice(r)
	if err != nil {
		return err
	}
	created, err := s.push.devices.Add(ctx, id.UserID, d)
	if err != nil {
		// fcm.ErrInvalidDevice: 400 with its text, which never repeats the token;
		// ErrTooManyDevices: 409.
		return failed("push device register", err)
	}
	s.recordMembership(ctx, id)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.log.InfoContext(ctx, "push device added", logging.KeyUserID, id.UserID, "platform", d.Platform)
	}
	writeJSON(w, status, map[string]string{"platform": d.Platform})
	return nil
}

// unregisterDevice serves DELETE /api/v1/notifications/push/devices with the same
// body; only the token matters. 204, also for an unknown token (idempotent).
func (s *Server) unregisterDevice(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	d, err := s.readDevice(r)
	if err != nil {
		return err
	}
	if d.Token == "" {
		return badRequest(badDeviceBody)
	}
	if err := s.push.devices.Remove(r.Context(), id.UserID, d.Token); err != nil {
		return failed("push device unregister", err)
	}
	noContent(w)
	return nil
}

// readDevice reads the body's device; its error is a 404 when FCM is off, a 413 for a
// body over 64 KiB and a 400 for one that is not JSON of a device's shape. Its values
// are checked by the store.
func (s *Server) readDevice(r *http.Request) (fcm.Device, error) {
	var d fcm.Device
	if s.push == nil || s.push.devices == nil {
		return d, &apiError{status: http.StatusNotFound, msg: fcmOff}
	}
	return d, readJSON(r, &d, badDeviceBody)
}
