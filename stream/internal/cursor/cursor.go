// Package cursor is a stream's resume position: the last position the client has of
// each log its stream reads — the user's own, one per group its token names, and the
// broadcast log. It is the SSE `id:` of every frame and the history's `next`, so one
// opaque value resumes all of them together (docs/PROTOCOL.md "The cursor").
//
// Text form: positions joined by ".", the user's own log first as a plain log id, the
// others as notification ids of their log ("<source>:<log id>"):
//
//	1764174645123-0.!all:1764174600000-0.@class-7b:0-0
//
// The broadcast log is left out while its position is 0-0 (nothing broadcast yet, or
// nothing retained), so a user without groups keeps plain log ids as SSE ids until the
// first broadcast — and every id issued before group and broadcast logs existed is a
// cursor with the broadcast log at 0-0, which is exact: nothing had been broadcast.
// Groups are always named, even at 0-0: a group the cursor does not name is one the
// client has not followed yet (new in its token), and the stream starts it at its
// newest entry instead of replaying its past. The own log is keyed "" so the cursor
// never holds the user id.
package cursor

import (
	"errors"
	"slices"
	"strings"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// Own is the key of the user's own log.
const Own = ""

// MaxLen bounds the text of a cursor a client may send: the own position, the broadcast
// log's and broker.MaxGroups groups' with the longest ids.
const MaxLen = (broker.MaxGroups + 2) * (1 + 130 + 42)

// ErrMalformed is returned for text that is no cursor.
var ErrMalformed = errors.New("malformed cursor")

// Cursor maps a log (Own, broker.Everyone, broker.GroupSource(g)) to the last position
// the client has of it. The zero value holds nothing; Set before use.
type Cursor map[string]rediskey.StreamID

// Parse reads a cursor's text. Errors are ErrMalformed.
func Parse(s string) (Cursor, error) {
	if s == "" || len(s) > MaxLen {
		return nil, ErrMalformed
	}
	c := Cursor{}
	for part := range strings.SplitSeq(s, ".") {
		source, pos, own, err := broker.SplitItemID(part)
		if own {
			source = Own
		}
		if _, dup := c[source]; err != nil || dup {
			return nil, ErrMalformed
		}
		c[source] = pos
	}
	if !c.Has(Own) {
		return nil, ErrMalformed
	}
	if !c.Has(broker.Everyone) {
		c[broker.Everyone] = rediskey.Zero
	}
	return c, nil
}

// Has reports whether c holds a position for source.
func (c Cursor) Has(source string) bool { _, ok := c[source]; return ok }

// String is c's text: the own position first, then the others in name order ("!" sorts
// before "@": the broadcast log, then the groups).
func (c Cursor) String() string {
	keys := make([]string, 0, len(c))
	for k, pos := range c {
		if k != Own && (k != broker.Everyone || pos != rediskey.Zero) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(len(c) * 32)
	if pos, ok := c[Own]; ok {
		b.WriteString(pos.String())
	}
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(broker.ItemID(k, c[k]))
	}
	return b.String()
}

// Clone returns a copy of c.
func (c Cursor) Clone() Cursor {
	out := make(Cursor, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}
