package eventarc

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The JSON reader under the fast path (fast.go): it accepts only what encoding/json
// would decode the same way and declines the rest.

// fastReader reads JSON from b at i.
type fastReader struct {
	b []byte
	i int
}

func (r *fastReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// byte consumes c after optional whitespace.
func (r *fastReader) byte(c byte) bool {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// peek returns the next byte after whitespace (0 at the end).
func (r *fastReader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// rawString reads a string and returns its bytes between the quotes and whether it
// holds an escape; ok is false for anything that is not a valid JSON string (control
// characters raw, unknown escapes, \u without four hex digits).
func (r *fastReader) rawString() (raw []byte, escaped, ok bool) {
	if !r.byte('"') {
		return nil, false, false
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return r.b[start : r.i-1], escaped, true
		case c == '\\':
			escaped = true
			if r.i+1 >= len(r.b) {
				return nil, false, false
			}
			switch r.b[r.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i += 2
			case 'u':
				if r.i+6 > len(r.b) || !isHex4(r.b[r.i+2:r.i+6]) {
					return nil, false, false
				}
				r.i += 6
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		default:
			r.i++
		}
	}
	return nil, false, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// key reads an object key that is plain ASCII without escapes (others decline).
func (r *fastReader) key() ([]byte, bool) {
	raw, escaped, ok := r.rawString()
	if !ok || escaped {
		return nil, false
	}
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			return nil, false
		}
	}
	if !r.byte(':') {
		return nil, false
	}
	return raw, true
}

// str reads a string value as encoding/json decodes it into a Go string. Plain ASCII or
// valid UTF-8 without escapes is the string itself; anything else is decoded by
// encoding/json (unescaping, and replacing invalid UTF-8 as it does).
func (r *fastReader) str() (string, bool) {
	start := r.i
	raw, escaped, ok := r.rawString()
	if !ok {
		return "", false
	}
	if !escaped && utf8.Valid(raw) {
		return string(raw), true
	}
	r.ws()
	var s string
	if err := json.Unmarshal(r.b[start:r.i], &s); err != nil {
		return "", false
	}
	return s, true
}

// skip reads a value the caller ignores: only strings, and objects and arrays of them,
// are accepted (that is what envelopes carry: attributes, subscription), so nothing
// invalid is skipped over that encoding/json would have refused.
func (r *fastReader) skip(depth int) bool {
	if depth > 8 {
		return false
	}
	switch r.peek() {
	case '"':
		_, _, ok := r.rawString()
		return ok
	case '{':
		r.i++
		if r.byte('}') {
			return true
		}
		for {
			if _, ok := r.key(); !ok || !r.skip(depth+1) {
				return false
			}
			if r.byte('}') {
				return true
			}
			if !r.byte(',') {
				return false
			}
		}
	case '[':
		r.i++
		if r.byte(']') {
			return true
		}
		for {
			if !r.skip(depth + 1) {
				return false
			}
			if r.byte(']') {
				return true
			}
			if !r.byte(',') {
				return false
			}
		}
	}
	return false
}

// object reads an object, calling field for each key; field reads the value and
// returns false to decline.
func (r *fastReader) object(field func(key []byte) bool) bool {
	if !r.byte('{') {
		return false
	}
	if r.byte('}') {
		return true
	}
	for {
		k, ok := r.key()
		if !ok || !field(k) {
			return false
		}
		if r.byte('}') {
			return true
		}
		if !r.byte(',') {
			return false
		}
	}
}

// end reports whether only whitespace follows.
func (r *fastReader) end() bool {
	r.ws()
	return r.i == len(r.b)
}

// known handles a key that names one of fields: exactly (its index, and whether it was
// already seen, which declines: encoding/json keeps the last) or only when case is
// folded (declines: encoding/json matches keys case-insensitively).
func known(key []byte, fields []string, seen *uint32) (int, bool) {
	for i, f := range fields {
		if string(key) == f {
			if *seen&(1<<i) != 0 {
				return -1, false
			}
			*seen |= 1 << i
			return i, true
		}
		if bytes.EqualFold(key, []byte(f)) {
			return -1, false
		}
	}
	return -1, true // unknown: skipped
}
