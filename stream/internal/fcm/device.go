package fcm

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxDevices is how many FCM devices (apps) one user may register.
const MaxDevices = 10

// DeviceTTL is how long a user's devices live without use. Registering one or pushing
// to them renews it, as for Web Push subscriptions.
const DeviceTTL = 60 * 24 * time.Hour

// maxTokenLen is the contract's bound on a registration token (real ones are ~160).
const maxTokenLen = 4096

// Platforms a device may name.
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
	PlatformWeb     = "web"
)

// Sentinel errors callers branch on (errors.Is).
var (
	// ErrInvalidDevice: the token or platform is malformed (HTTP 400).
	ErrInvalidDevice = errors.New("invalid push device")
	// ErrTooManyDevices: the user already has MaxDevices (HTTP 409).
	ErrTooManyDevices = errors.New("too many push devices")
)

// Device is an app instance's FCM registration: POST …/push/devices
// {"token":"…","platform":"android"|"ios"|"web"}. The token is a capability (anyone
// holding it and the project's credentials can push to the app): logs never show it.
type Device struct {
	Token    string `json:"token"`
	Platform string `json:"platform"`
}

// Validate checks d as the contract requires: a token of 1–4096 characters of
// [A-Za-z0-9_:-] and a known platform. Errors wrap ErrInvalidDevice and never repeat
// the token.
func (d Device) Validate() error {
	if d.Token == "" || len(d.Token) > maxTokenLen {
		return fmt.Errorf("%w: token must be 1-%d characters", ErrInvalidDevice, maxTokenLen)
	}
	for _, c := range []byte(d.Token) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("%w: token must be made of A-Z a-z 0-9 _ : -", ErrInvalidDevice)
		}
	}
	switch d.Platform {
	case PlatformAndroid, PlatformIOS, PlatformWeb:
		return nil
	}
	return fmt.Errorf("%w: platform must be android, ios or web", ErrInvalidDevice)
}

// Store keeps each user's devices. User IDs must already be valid
// (notification.ValidUserID). Safe for concurrent use.
type Store interface {
	// Add stores d for user, replacing the device with the same token (an app may move
	// a token to another platform label only by registering again). It validates d,
	// refuses a new token beyond MaxDevices with ErrTooManyDevices, renews the TTL and
	// reports whether the token was new.
	Add(ctx context.Context, user string, d Device) (created bool, err error)
	// Remove deletes the device with token; removing an unknown one is no error.
	Remove(ctx context.Context, user, token string) error
	// List returns the user's devices in no particular order and renews the TTL.
	List(ctx context.Context, user string) ([]Device, error)
	// Count returns how many devices the user has (the push decision only needs to
	// know whether there are any; the sender Lists them and renews the TTL).
	Count(ctx context.Context, user string) (int, error)
}
