package web

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadStateInboxOps runs testdata/read-state.test.mjs with node against the
// embedded client modules (copied beside it with a package.json marking them ES
// modules): op unread puts shown ids back in the count and re-reads it for others,
// seen and archive reach the app only, markUnread posts the ids.
func TestReadStateInboxOps(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if testing.Short() {
			t.Skip("node not installed (scripts/ensure-deps.sh installs it with npm)")
		}
		t.Fatal("node not installed: run scripts/ensure-deps.sh (it installs npm, and node with it)")
	}
	dir := t.TempDir()
	mods, _ := fs.Glob(files, "*.js")
	for _, name := range mods {
		b, _ := files.ReadFile(name)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	test, err := os.ReadFile("testdata/read-state.test.mjs")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"package.json": []byte(`{"type":"module"}`), "test.mjs": test} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(node, filepath.Join(dir, "test.mjs")).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("node: %v\n%s", err, out)
	}
	t.Logf("read-state.js: %s", strings.TrimSpace(string(out)))
}
