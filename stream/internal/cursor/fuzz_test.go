package cursor

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vividly-edu/notifications/shared/broker"
)

// FuzzParse: a cursor comes from the client (Last-Event-ID, last_event_id, after), so
// Parse must never panic; whatever it accepts holds the own and broadcast positions,
// and its String is a valid SSE id (no CR, LF or space), no longer than what was sent,
// and parses back to the same cursor.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0-0",
		"1764174645123-0",
		"1764174645123-0.!all:1764174600000-0.@class-7b:0-0",
		"5-1.!all:0-0.@class-7b:3-0",
		"@school_3:2-0.!all:9-0.@class-7b:1-0.4-0",
		"18446744073709551615-18446744073709551615",
		"1-0.alice:1-0",
		"1-0.2-0",
		"@g:1-0",
		"1-0.!all:1-0:2-0",
		"1-0.@:1-0",
		"1-0\r\n",
		"1-0.",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || c != nil {
				t.Fatalf("Parse(%q) = %v, %v; want nil and ErrMalformed", s, c, err)
			}
			return
		}
		if !c.Has(Own) || !c.Has(broker.Everyone) {
			t.Fatalf("Parse(%q) = %v: own or broadcast position missing", s, c)
		}
		for k := range c {
			if k != Own && !(broker.ValidSource(k) && !broker.IsUserSource(k)) {
				t.Fatalf("Parse(%q) holds source %q, no group or broadcast log", s, k)
			}
		}
		text := c.String()
		if strings.ContainsAny(text, "\r\n ") {
			t.Fatalf("String() of Parse(%q) = %q holds CR, LF or space", s, text)
		}
		if len(text) > len(s) {
			t.Fatalf("String() = %q is longer than the accepted %q", text, s)
		}
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) accepted, its String %q refused: %v", s, text, err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("Parse(String()) of %q (-first +again):\n%s", s, diff)
		}
		if again.String() != text {
			t.Fatalf("String not canonical: %q then %q", text, again.String())
		}
	})
}
