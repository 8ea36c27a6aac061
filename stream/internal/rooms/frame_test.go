package rooms

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	big := `{"x":"` + strings.Repeat("a", MaxState) + `"}`
	cases := []struct {
		name, in string
		ok       bool
	}{
		{"ping", `{"op":"ping"}`, true},
		{"send", `{"op":"send","text":"hi","client_id":"c1"}`, true},
		{"send at the limit", `{"op":"send","text":"` + strings.Repeat("é", MaxText) + `"}`, true},
		{"send over the limit", `{"op":"send","text":"` + strings.Repeat("é", MaxText+1) + `"}`, false},
		{"send empty", `{"op":"send","text":""}`, false},
		{"long client id", `{"op":"send","text":"a","client_id":"` + strings.Repeat("c", 65) + `"}`, false},
		{"state", `{"op":"state","state":{"t":1.5},"version":3}`, true},
		{"state not an object", `{"op":"state","state":[1],"version":0}`, false},
		{"state null", `{"op":"state","state":null,"version":0}`, false},
		{"state too big", `{"op":"state","state":` + big + `,"version":0}`, false},
		{"negative version", `{"op":"state","state":{},"version":-1}`, false},
		{"unknown op", `{"op":"dance"}`, false},
		{"not JSON", `op=ping`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tc.in))
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("Decode = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// FuzzDecode: whatever a client sends, Decode either refuses it with ErrInvalid or
// returns a frame within the contract's limits.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"op":"ping"}`, `{"op":"send","text":"hi"}`, `{"op":"state","state":{"a":1},"version":2}`, `{"op":"state","state":{ "a" : [1, 2] }}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		switch c.Op {
		case "send":
			if n := utf8.RuneCountInString(c.Text); n == 0 || n > MaxText {
				t.Fatalf("text of %d characters accepted", n)
			}
		case "state":
			if len(c.State) > MaxState || !json.Valid(c.State) || c.State[0] != '{' || c.Version < 0 {
				t.Fatalf("state %q version %d accepted", c.State, c.Version)
			}
		case "ping":
		default:
			t.Fatalf("op %q accepted", c.Op)
		}
	})
}
