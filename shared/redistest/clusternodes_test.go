package redistest

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fixtures are CLUSTER NODES replies of a real 7.0.15 cluster started by
// StartCluster: settled, with slot 5461 in migration, and after its master on port
// 39129 was killed and its replica on 41631 promoted.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var allSix = map[string]bool{"127.0.0.1:36239": true, "127.0.0.1:37777": true, "127.0.0.1:39129": true,
	"127.0.0.1:38537": true, "127.0.0.1:45965": true, "127.0.0.1:41631": true}

func without(addr string) map[string]bool {
	m := map[string]bool{}
	for a := range allSix {
		m[a] = a != addr
	}
	return m
}

func TestParseClusterNodes(t *testing.T) {
	lines, err := parseClusterNodes(fixture(t, "nodes-failover.txt"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Addr, Master string
		IsMaster     bool
		Myself       bool
		Slots        []SlotRange
		Bad          string
	}
	var got []row
	for _, l := range lines {
		got = append(got, row{l.addr, l.masterID, l.master, l.myself, l.slots, l.flags.unhealthy()})
	}
	want := []row{
		{"127.0.0.1:36239", "", true, true, []SlotRange{{5462, 10922}}, ""},
		{"127.0.0.1:37777", "036412137945d3613fbe88c6896244ab354c0b8f", false, false, nil, ""},
		{"127.0.0.1:39129", "", true, false, nil, "fail"},
		{"127.0.0.1:38537", "", true, false, []SlotRange{{5461, 5461}, {10923, 16383}}, ""},
		{"127.0.0.1:45965", "9f88572752899e50c16d09db0a3b6c0780d28768", false, false, nil, ""},
		{"127.0.0.1:41631", "", true, false, []SlotRange{{0, 5460}}, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestCanonicalView(t *testing.T) {
	healthy := fixture(t, "nodes-healthy.txt")
	// The same cluster seen from a replica: "myself" elsewhere, other ping times.
	fromReplica := strings.Replace(strings.Replace(healthy, "myself,master", "master", 1),
		"127.0.0.1:37777@47777 slave", "127.0.0.1:37777@47777 myself,slave", 1)
	fromReplica = strings.ReplaceAll(fromReplica, "1796536415294", "1796536415999")

	v1, replica1, err := canonicalView(healthy, allSix)
	if err != nil || replica1 {
		t.Fatalf("healthy: replica=%v err=%v", replica1, err)
	}
	v2, replica2, err := canonicalView(fromReplica, allSix)
	if err != nil || !replica2 {
		t.Fatalf("from the replica: replica=%v err=%v", replica2, err)
	}
	if v1 != v2 {
		t.Errorf("two views of one topology differ:\n%s\n---\n%s", v1, v2)
	}

	if _, _, err := canonicalView(fixture(t, "nodes-failover.txt"), without("127.0.0.1:39129")); err != nil {
		t.Errorf("after the failover, without the killed node: %v", err)
	}
	for name, tc := range map[string]struct {
		text    string
		running map[string]bool
		want    string
	}{
		"slot in migration":        {fixture(t, "nodes-migrating.txt"), allSix, "has a slot in migration"},
		"killed node still listed": {fixture(t, "nodes-failover.txt"), allSix, "127.0.0.1:39129 is flagged fail"},
		"master killed, not yet replaced": {healthy, without("127.0.0.1:39129"),
			"serve 10923 of 16384 slots"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := canonicalView(tc.text, tc.running); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestParseClusterNodesRejects(t *testing.T) {
	for name, text := range map[string]string{
		"short line":     "036412 127.0.0.1:36239@46239 master -",
		"slot too high":  "036412 127.0.0.1:36239@46239 master - 0 0 2 connected 0-16384",
		"reversed range": "036412 127.0.0.1:36239@46239 master - 0 0 2 connected 10-9",
		"not a number":   "036412 127.0.0.1:36239@46239 master - 0 0 2 connected x",
	} {
		if _, err := parseClusterNodes(text); err == nil {
			t.Errorf("%s: parsed %q", name, text)
		}
	}
}

func FuzzParseClusterNodes(f *testing.F) {
	for _, name := range []string{"nodes-healthy.txt", "nodes-migrating.txt", "nodes-failover.txt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		lines, err := parseClusterNodes(text)
		if err != nil {
			return
		}
		for _, l := range lines {
			for _, r := range l.slots {
				if r.First < 0 || r.Last > 16383 || r.First > r.Last {
					t.Fatalf("bad range %+v from %q", r, text)
				}
			}
		}
		_, _, _ = canonicalView(text, allSix)
	})
}
