package rediskey

import (
	"reflect"
	"testing"
)

func TestNames(t *testing.T) {
	t.Parallel()
	n := Names{Prefix: DefaultPrefix}
	for got, want := range map[string]string{
		n.Channel("u-42"):           "notifications:u-42",
		n.Log("u-42"):               "notifications:{u-42}:log",
		n.Seen("u-42", "1234"):      "notifications:{u-42}:seen:1234",
		n.Ticket("ab12"):            "notifications:ticket:ab12",
		n.Presence("u-42"):          "notifications:{u-42}:conns",
		n.ReadIDs("u-42"):           "notifications:{u-42}:read",
		n.ReadUpTo("u-42"):          "notifications:{u-42}:readupto",
		n.SeenIDs("u-42", "!all"):   "notifications:{u-42}:seen:!all",
		n.SeenUpTo("u-42", "u-42"):  "notifications:{u-42}:seenupto:u-42",
		n.Archived("u-42", "@g"):    "notifications:{u-42}:archived:@g",
		n.Prefs("u-42"):             "notifications:{u-42}:prefs",
		n.PushSubscriptions("u-42"): "notifications:{u-42}:push",
		n.PushQueue():               "notifications:{push}",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if u, ok := n.UserOfChannel("notifications:u-42"); !ok || u != "u-42" {
		t.Errorf("UserOfChannel = %q, %v", u, ok)
	}
	for _, ch := range []string{"other:u-42", "notifications:", "notifications"} {
		if _, ok := n.UserOfChannel(ch); ok {
			t.Errorf("UserOfChannel(%q) accepted", ch)
		}
	}
}

func TestParseStreamID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]StreamID{
		"0-0":                       {},
		"1764174645123-0":           {1764174645123, 0},
		"1-18446744073709551615":    {1, 1<<64 - 1},
		"18446744073709551615-1234": {1<<64 - 1, 1234},
	} {
		got, err := ParseStreamID(in)
		if err != nil || got != want {
			t.Errorf("ParseStreamID(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	for _, in := range []string{"", "-", "1", "1-", "-1", "01-0", "1-01", "+1-0", "1--1", " 1-0", "1-0 ", "1-0-0",
		"a-0", "1-x", "18446744073709551616-0", "1-0\n", "999999999999999999999-0", "$", "*", "+"} {
		if _, err := ParseStreamID(in); err == nil {
			t.Errorf("ParseStreamID(%q) accepted", in)
		}
	}
}

func TestCompareIsNumeric(t *testing.T) {
	t.Parallel()
	ids := []StreamID{{0, 0}, {0, 1}, {9, 0}, {9, 10}, {10, 0}, {10, 2}}
	for i := range ids {
		for j := range ids {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := ids[i].Compare(ids[j]); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", ids[i], ids[j], got, want)
			}
		}
	}
	if got := (StreamID{5, 1<<64 - 1}).Next(); got != (StreamID{6, 0}) {
		t.Errorf("Next overflow = %v", got)
	}
	if id, err := ParseStreamID("18446744073709551615-18446744073709551615"); err != nil || id != Max || Max.Compare(ids[len(ids)-1]) != 1 {
		t.Errorf("Max: %v, %v", id, err)
	}
}

func FuzzParseStreamID(f *testing.F) {
	for _, s := range []string{"0-0", "1764174645123-0", "01-1", "1-", "18446744073709551616-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseStreamID(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("ParseStreamID(%q) round-trips to %q", s, id.String())
		}
		if id.Compare(id.Next()) != -1 && id != Max {
			t.Fatalf("Next is not after %v", id)
		}
	})
}

// On a cluster the channel carries the log's hash tag, so the write script (whose keys
// are in that slot) may SPUBLISH to it.
func TestShardedChannel(t *testing.T) {
	t.Parallel()
	n := Names{Prefix: DefaultPrefix, Sharded: true}
	if got := n.Channel("u-42"); got != "notifications:{u-42}" {
		t.Errorf("Channel = %q", got)
	}
	if got, want := n.Channel("g:physics"), n.Log("g:physics"); want[:len(got)] != got {
		t.Errorf("channel %q and log %q do not share a hash tag", got, want)
	}
	if u, ok := n.UserOfChannel("notifications:{u-42}"); !ok || u != "u-42" {
		t.Errorf("UserOfChannel = %q, %v", u, ok)
	}
	for _, ch := range []string{"notifications:u-42", "notifications:{u-42", "notifications:{}", "other:{u-42}"} {
		if u, ok := n.UserOfChannel(ch); ok {
			t.Errorf("UserOfChannel(%q) = %q, accepted", ch, u)
		}
	}
}

// TestKindsListEveryName fails when a Names method is added without being listed in
// Kinds: export and erasure are checked against that list.
func TestKindsListEveryName(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	for _, k := range Kinds() {
		if listed[k.Method] {
			t.Errorf("%s listed twice", k.Method)
		}
		listed[k.Method] = true
	}
	typ := reflect.TypeOf(Names{})
	builds := map[string]bool{}
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		// A name builder returns one string; UserOfChannel and UserPattern parse or match.
		if m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.String || m.Name == "UserPattern" {
			continue
		}
		builds[m.Name] = true
		if !listed[m.Name] {
			t.Errorf("Names.%s is not in Kinds(): say whether export and erasure must handle it", m.Name)
		}
	}
	for name := range listed {
		if !builds[name] {
			t.Errorf("Kinds() lists %s, which Names does not build", name)
		}
	}
}

func TestPrivacyNames(t *testing.T) {
	t.Parallel()
	n := Names{Prefix: DefaultPrefix}
	for got, want := range map[string]string{
		n.Receipts("u-42"):                    "notifications:{u-42}:rcpt",
		n.GroupReceipts("@g1", "5-0"):         "notifications:{@g1}:rcpt:5-0",
		n.Members("@g1"):                      "notifications:{@g1}:members",
		n.UserGroups("u-42"):                  "notifications:{u-42}:groups",
		n.PushDevices("u-42"):                 "notifications:{u-42}:fcm",
		n.UserPattern("u-42"):                 "notifications:{u-42}:*",
		Names{Prefix: "a*b"}.UserPattern("u"): `a\*b:{u}:*`,
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if n.Members("@g1")[:len("notifications:{@g1}")] != n.Log("@g1")[:len("notifications:{@g1}")] {
		t.Error("Members must share the group log's hash tag")
	}
}
