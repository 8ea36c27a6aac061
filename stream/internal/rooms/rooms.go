// Package rooms is real-time collaboration over WebSockets (docs/PROTOCOL.md "Rooms over WebSockets"): a
// room's members, its kept messages and its versioned shared state live in a Store
// shared by every instance; a Fanout carries each event to the instances with members
// in the room; a Hub hands them to this instance's sockets.
package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Limits of the contract.
const (
	MaxText         = 2000     // characters of a message
	MaxState        = 8 << 10  // bytes of the shared state's JSON
	MaxFrame        = 16 << 10 // bytes of one client frame (state plus its envelope)
	Keep            = 500      // messages kept per room
	KeepFor         = 24 * time.Hour
	WelcomeMessages = 50
)

// Member is one user in a room, as the frames show it.
type Member struct {
	User    string `json:"user"`
	Teacher bool   `json:"teacher"`
}

// Message is a kept room message; ID grows within a room.
type Message struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Text      string    `json:"text"`
	ClientID  string    `json:"client_id"`
	CreatedAt time.Time `json:"created_at"`
}

// State is a room's shared state; Version counts accepted changes (0: never set).
type State struct {
	State   json.RawMessage
	Version int64
	By      string
}

var (
	// ErrConflict: the expected version is not the current one.
	ErrConflict = errors.New("rooms: version conflict")
	// ErrReset: the resume point is malformed, unknown or older than what is kept.
	ErrReset = errors.New("rooms: cannot resume from that message")
)

// Store keeps rooms across instances. Safe for concurrent use.
type Store interface {
	// Append stores m, giving it its ID and CreatedAt, and trims to Keep / KeepFor.
	Append(ctx context.Context, room string, m Message) (Message, error)
	// Recent returns the last n messages, oldest first, and the newest ID ("0-0" when none).
	Recent(ctx context.Context, room string, n int) ([]Message, string, error)
	// After returns every kept message after id, oldest first, or ErrReset.
	After(ctx context.Context, room, id string) ([]Message, error)
	State(ctx context.Context, room string) (State, error)
	// SetState replaces the state when want.Version is the current version, in one
	// atomic step; otherwise ErrConflict with the current state.
	SetState(ctx context.Context, room string, want State) (State, error)
	// Join and Leave record one socket (lease) of m in room.
	Join(ctx context.Context, room, lease string, m Member) error
	Leave(ctx context.Context, room, lease string) error
	// Members lists the users with a live lease, sorted by user.
	Members(ctx context.Context, room string) ([]Member, error)
}

// Fanout carries server frames between instances.
type Fanout interface {
	Publish(ctx context.Context, room string, frame []byte) error
	Subscribe(ctx context.Context, room string) error
	Unsubscribe(ctx context.Context, room string) error
}
