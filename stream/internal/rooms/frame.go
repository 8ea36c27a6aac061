package rooms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Client is a decoded client frame.
type Client struct {
	Op       string          `json:"op"`
	Text     string          `json:"text"`
	ClientID string          `json:"client_id"`
	State    json.RawMessage `json:"state"`
	Version  int64           `json:"version"`
}

// ErrInvalid wraps every reason a client frame is refused.
var ErrInvalid = errors.New("invalid frame")

// Decode parses one client frame and checks it against the contract's limits.
func Decode(data []byte) (Client, error) {
	var c Client
	if err := json.Unmarshal(data, &c); err != nil {
		return Client{}, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	switch c.Op {
	case "ping":
	case "send":
		if c.Text == "" || utf8.RuneCountInString(c.Text) > MaxText {
			return Client{}, fmt.Errorf("%w: text must be 1 to %d characters", ErrInvalid, MaxText)
		}
		if len(c.ClientID) > 64 {
			return Client{}, fmt.Errorf("%w: client_id over 64 bytes", ErrInvalid)
		}
	case "state":
		s := bytes.TrimSpace(c.State)
		if len(s) == 0 || s[0] != '{' {
			return Client{}, fmt.Errorf("%w: state must be a JSON object", ErrInvalid)
		}
		if len(s) > MaxState {
			return Client{}, fmt.Errorf("%w: state over %d bytes", ErrInvalid, MaxState)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, s); err != nil {
			return Client{}, fmt.Errorf("%w: state is not JSON", ErrInvalid)
		}
		c.State = buf.Bytes()
		if c.Version < 0 {
			return Client{}, fmt.Errorf("%w: version must be ≥ 0", ErrInvalid)
		}
	default:
		return Client{}, fmt.Errorf("%w: unknown op", ErrInvalid)
	}
	return c, nil
}

// head is what the hub reads of a server frame: its op, whose it is, and its place.
type head struct {
	Op      string `json:"op"`
	User    string `json:"user"`
	Teacher bool   `json:"teacher"`
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

func encode(v any) []byte {
	b, _ := json.Marshal(v) // only frames of known shape are encoded
	return b
}

func messageFrame(m Message) []byte {
	return encode(struct {
		Op string `json:"op"`
		Message
	}{"message", m})
}

func stateFrame(s State) []byte {
	return encode(map[string]any{"op": "state", "state": s.State, "version": s.Version, "by": s.By})
}

func presenceFrame(op string, m Member) []byte {
	return encode(map[string]any{"op": op, "user": m.User, "teacher": m.Teacher})
}

func errorFrame(code, msg string) []byte {
	return encode(map[string]string{"op": "error", "code": code, "message": msg})
}
