package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// EraseType is the type of the message that erases a user (docs/PRIVACY.md):
// {"type":"erase_user","user_id":"…"} on the notifications topic.
const EraseType = "erase_user"

// Eraser removes everything stored about a user and closes their connections
// (redisbroker.Privacy). Idempotent.
type Eraser interface {
	EraseUser(ctx context.Context, userID string) (redisbroker.Erased, error)
}

// WithEraser lets the Publish entry point act on erase_user messages; without it they
// are refused (acknowledged, logged at ERROR) — the local in-process run keeps no
// Redis data to erase.
func WithEraser(e Eraser) Option {
	return func(h *Handler) { h.eraser = e }
}

// eraseRequest reports whether data is an erase_user message; if so it returns the
// user, or an error for a message of that type that is malformed (unknown fields, a
// missing or invalid user_id).
func eraseRequest(data []byte) (user string, isErase bool, err error) {
	var peek struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &peek) != nil || peek.Type != EraseType {
		return "", false, nil
	}
	var req struct {
		Type   string  `json:"type"`
		UserID *string `json:"user_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", true, errors.New(`erase_user must be {"type":"erase_user","user_id":"…"}`)
	}
	if req.UserID == nil || !notification.ValidUserID(*req.UserID) {
		return "", true, errors.New("erase_user needs a valid user_id")
	}
	return *req.UserID, true, nil
}

// handleErase erases a user: acknowledged (nil) once done, also when there was nothing
// left to erase (a redelivery); an error (Redis) makes Pub/Sub redeliver. It is never
// refused as stale: erasing again is harmless, and an old request must still be done.
// Logged without personal data: the message id and counts, never the user id.
func (h *Handler) handleErase(ctx context.Context, start time.Time, d eventarc.Delivery, user string) error {
	if h.eraser == nil {
		h.reject(ctx, "malformed", d.ID, errors.New("erase_user is not supported by this deployment"))
		return nil
	}
	// As for a publish: the erasure outlives a client that gives up.
	got, err := h.eraser.EraseUser(context.WithoutCancel(ctx), user)
	if err != nil {
		h.metrics.Failures.Inc()
		// err names keys, which carry the user id: only its count-free kind is logged.
		h.log.ErrorContext(ctx, "erase_user failed; Pub/Sub will retry", logging.KeyMessageID, d.ID)
		return fmt.Errorf("erase_user %s: %w", d.ID, errRedis)
	}
	h.log.InfoContext(ctx, "user erased", logging.KeyMessageID, d.ID, "keys", got.Keys,
		"group_entries", got.GroupEntries, logging.KeyLatencyMS, ms(h.now().Sub(start)))
	return nil
}

// errRedis stands for a store failure whose text is not logged (it would name the user).
var errRedis = errors.New("store failed")
