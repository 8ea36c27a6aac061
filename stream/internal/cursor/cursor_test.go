package cursor

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

func id(ms, seq uint64) rediskey.StreamID { return rediskey.StreamID{Ms: ms, Seq: seq} }

func TestParseAndString(t *testing.T) {
	t.Parallel()
	g7, g8 := broker.GroupSource("class-7b"), broker.GroupSource("school_3")
	for _, tc := range []struct {
		name string
		text string
		want Cursor
		// str is String() of the parsed cursor; empty means text itself.
		str string
	}{
		{
			name: "plain legacy id is the own position, broadcast at 0-0",
			text: "1764174645123-0",
			want: Cursor{Own: id(1764174645123, 0), broker.Everyone: rediskey.Zero},
		},
		{
			name: "own at 0-0 alone",
			text: "0-0",
			want: Cursor{Own: rediskey.Zero, broker.Everyone: rediskey.Zero},
		},
		{
			name: "own, broadcast and two groups",
			text: "1764174645123-0.!all:1764174600000-0.@class-7b:0-0.@school_3:1764174645000-7",
			want: Cursor{Own: id(1764174645123, 0), broker.Everyone: id(1764174600000, 0),
				g7: rediskey.Zero, g8: id(1764174645000, 7)},
		},
		{
			name: "broadcast named at 0-0 is accepted and left out of the text",
			text: "5-1.!all:0-0.@class-7b:3-0",
			want: Cursor{Own: id(5, 1), broker.Everyone: rediskey.Zero, g7: id(3, 0)},
			str:  "5-1.@class-7b:3-0",
		},
		{
			name: "parts in any order; String puts own first, then broadcast, then groups by name",
			text: "@school_3:2-0.!all:9-0.@class-7b:1-0.4-0",
			want: Cursor{Own: id(4, 0), broker.Everyone: id(9, 0), g7: id(1, 0), g8: id(2, 0)},
			str:  "4-0.!all:9-0.@class-7b:1-0.@school_3:2-0",
		},
		{
			name: "the largest id parses (refusing it is the broker's and history's business)",
			text: "18446744073709551615-18446744073709551615.@g:18446744073709551615-18446744073709551615",
			want: Cursor{Own: rediskey.Max, broker.Everyone: rediskey.Zero, broker.GroupSource("g"): rediskey.Max},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.text, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.text, diff)
			}
			want := tc.str
			if want == "" {
				want = tc.text
			}
			if s := got.String(); s != want {
				t.Errorf("String() = %q, want %q", s, want)
			}
			again, err := Parse(got.String())
			if err != nil || !cmp.Equal(again, got) {
				t.Errorf("Parse(String()) = %v, %v; want %v", again, err, got)
			}
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    Cursor
		want string
	}{
		{"own only", Cursor{Own: id(7, 0)}, "7-0"},
		{"broadcast at 0-0 is omitted", Cursor{Own: id(7, 0), broker.Everyone: rediskey.Zero}, "7-0"},
		{"broadcast past 0-0 is named", Cursor{Own: id(7, 0), broker.Everyone: id(1, 0)}, "7-0.!all:1-0"},
		{"a group at 0-0 is always named", Cursor{Own: id(7, 0), broker.GroupSource("a"): rediskey.Zero}, "7-0.@a:0-0"},
		{"own at 0-0 with a group", Cursor{Own: rediskey.Zero, broker.Everyone: rediskey.Zero, broker.GroupSource("a"): rediskey.Zero}, "0-0.@a:0-0"},
		{"groups sorted by name", Cursor{Own: id(1, 0), broker.GroupSource("b"): id(2, 0), broker.GroupSource("a"): id(3, 0), broker.GroupSource("B"): id(4, 0)},
			"1-0.@B:4-0.@a:3-0.@b:2-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.c.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	long := "1-0" + strings.Repeat(".@"+strings.Repeat("g", 128)+":18446744073709551615-18446744073709551615", broker.MaxGroups+2)
	for _, tc := range []struct{ name, text string }{
		{"empty", ""},
		{"dot only", "."},
		{"trailing dot", "1-0."},
		{"leading dot", ".1-0"},
		{"empty middle part", "1-0..@g:1-0"},
		{"duplicate own", "1-0.2-0"},
		{"duplicate group", "1-0.@g:1-0.@g:2-0"},
		{"duplicate broadcast", "1-0.!all:1-0.!all:1-0"},
		{"missing own part", "@class-7b:1-0"},
		{"missing own part, broadcast only", "!all:1-0"},
		{"user-id-looking source", "1-0.alice:1-0"},
		{"user-id-looking source alone", "alice:1-0"},
		{"unknown mark", "1-0.#g:1-0"},
		{"empty group", "1-0.@:1-0"},
		{"empty source", "1-0.:1-0"},
		{"group with a bad character", "1-0.@a/b:1-0"},
		{"group id too long", "1-0.@" + strings.Repeat("g", 129) + ":1-0"},
		{"broadcast spelt otherwise", "1-0.!ALL:1-0"},
		{"nested source", "1-0.!all:1-0:2-0"},
		{"bad own position", "1-x"},
		{"own position with a leading zero", "01-0"},
		{"own position without a sequence", "1"},
		{"group position missing", "1-0.@g:"},
		{"group position bad", "1-0.@g:1"},
		{"overflowing position", "18446744073709551616-0"},
		{"space", "1-0 .@g:1-0"},
		{"leading space", " 1-0"},
		{"CR", "1-0\r"},
		{"LF", "1-0.@g:1-0\n"},
		{"CRLF inside", "1-0\r\n.@g:1-0"},
		{"NUL", "1-0\x00"},
		{"over MaxLen", long},
		{"one over MaxLen", "1-0." + strings.Repeat("x", MaxLen-3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if c, err := Parse(tc.text); !errors.Is(err, ErrMalformed) || c != nil {
				t.Errorf("Parse(%.80q) = %v, %v; want nil, ErrMalformed", tc.text, c, err)
			}
		})
	}
}

// TestMaxLenHoldsTheLargestValidCursor: a cursor a stream can issue (the own log, the
// broadcast log and broker.MaxGroups groups with the longest ids and positions) is
// under MaxLen, so no id the server sent is ever refused as too long.
func TestMaxLenHoldsTheLargestValidCursor(t *testing.T) {
	t.Parallel()
	c := Cursor{Own: rediskey.Max, broker.Everyone: rediskey.Max}
	for i := range broker.MaxGroups {
		g := strings.Repeat("g", 125) + string(rune('A'+i/26)) + string(rune('a'+i%26)) + "x"
		c[broker.GroupSource(g)] = rediskey.Max
	}
	if len(c) != broker.MaxGroups+2 {
		t.Fatalf("built %d sources", len(c))
	}
	s := c.String()
	if len(s) > MaxLen {
		t.Fatalf("largest cursor is %d bytes, MaxLen %d", len(s), MaxLen)
	}
	got, err := Parse(s)
	if err != nil || !cmp.Equal(got, c) {
		t.Fatalf("Parse(largest) = %v", err)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	c := Cursor{Own: id(1, 0), broker.GroupSource("g"): id(2, 0)}
	d := c.Clone()
	d[Own] = id(9, 0)
	d[broker.Everyone] = id(3, 0)
	if c[Own] != id(1, 0) || c.Has(broker.Everyone) {
		t.Errorf("changing the clone changed the original: %v", c)
	}
	if !d.Has(broker.GroupSource("g")) || c.Has("nope") {
		t.Errorf("Has: clone %v, original %v", d, c)
	}
}
