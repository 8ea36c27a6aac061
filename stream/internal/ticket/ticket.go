// Package ticket issues and redeems short-lived, single-use stream tickets: a browser's
// EventSource cannot send an Authorization header, and a long-lived JWT in a URL ends up
// in every proxy's log. A ticket is 256 random bits, stored (as its SHA-256, so a
// Redis dump holds nothing usable) with the user and expiry of the token it was issued
// for, and consumed atomically so it works exactly once, on any instance.
package ticket

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// ErrInvalid covers malformed, unknown, used and expired tickets alike: the caller
// learns nothing about which.
var ErrInvalid = errors.New("invalid or used ticket")

// Store keeps tickets. Take must read and delete in one atomic step.
type Store interface {
	Put(ctx context.Context, key, value string, ttl time.Duration) error
	Take(ctx context.Context, key string) (value string, ok bool, err error)
}

// encodedLen is the length of 32 bytes in unpadded base64url.
const encodedLen = 43

// Issuer issues and redeems tickets. Safe for concurrent use.
type Issuer struct {
	store Store
	ttl   time.Duration
	now   func() time.Time
}

// New returns an issuer whose tickets live at most ttl.
func New(store Store, ttl time.Duration, now func() time.Time) (*Issuer, error) {
	if store == nil || ttl < time.Second || now == nil {
		return nil, errors.New("ticket.New: nil store or clock, or ttl under 1s")
	}
	return &Issuer{store: store, ttl: ttl, now: now}, nil
}

// Issue returns a ticket for id and how long it is valid: the ticket TTL, cut short by
// the token's own expiry (a ticket never outlives the token it came from).
func (i *Issuer) Issue(ctx context.Context, id auth.Identity) (string, time.Duration, error) {
	ttl := min(i.ttl, id.Expires.Sub(i.now()))
	if ttl < time.Second {
		return "", 0, auth.ErrExpired
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", 0, fmt.Errorf("ticket randomness: %w", err)
	}
	t := base64.RawURLEncoding.EncodeToString(raw[:])
	value := id.UserID + " " + strconv.FormatInt(id.Expires.Unix(), 10) + " " + strings.Join(id.Groups, ",")
	if id.Teacher {
		value += " " + auth.RoleTeacher // roles ride in the ticket: a browser's room socket needs them
	}
	if err := i.store.Put(ctx, key(raw), value, ttl); err != nil {
		return "", 0, fmt.Errorf("store ticket: %w", err)
	}
	return t, ttl.Truncate(time.Second), nil
}

// Redeem consumes t and returns the identity it was issued for.
func (i *Issuer) Redeem(ctx context.Context, t string) (auth.Identity, error) {
	raw, err := Parse(t)
	if err != nil {
		return auth.Identity{}, ErrInvalid
	}
	value, ok, err := i.store.Take(ctx, key(raw))
	if err != nil {
		return auth.Identity{}, fmt.Errorf("redeem ticket: %w", err)
	}
	if !ok {
		return auth.Identity{}, ErrInvalid
	}
	// "<user> <exp unix s> <group,group,…>[ teacher]" (tickets issued before groups
	// existed lack the last two fields, before roles the last one).
	user, rest, _ := strings.Cut(value, " ")
	exp, rest, _ := strings.Cut(rest, " ")
	groups, role, _ := strings.Cut(rest, " ")
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !notification.ValidUserID(user) {
		return auth.Identity{}, ErrInvalid
	}
	id := auth.Identity{UserID: user, Expires: time.Unix(secs, 0), Teacher: role == auth.RoleTeacher}
	if groups != "" {
		id.Groups = auth.Groups(toAny(strings.Split(groups, ",")))
	}
	if !i.now().Before(id.Expires) {
		return auth.Identity{}, ErrInvalid
	}
	return id, nil
}

// Parse checks a ticket's form: exactly 32 bytes in unpadded base64url.
func Parse(t string) ([32]byte, error) {
	var raw [32]byte
	if len(t) != encodedLen {
		return raw, ErrInvalid
	}
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(t))
	if err != nil || n != len(raw) {
		return raw, ErrInvalid
	}
	return raw, nil
}

func key(raw [32]byte) string {
	sum := sha256.Sum256(raw[:])
	return hex.EncodeToString(sum[:])
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
}
