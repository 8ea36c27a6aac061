package infra

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFunctionSourceBuildsAlone stages the function exactly as Cloud Build uploads it
// (scripts/function-source.sh, the same command cloudbuild.yaml runs) into a directory
// with no go.work and no shared/ beside it, then builds it the way the buildpack
// does: vendored modules only, no network. cmd/local stands in for the main package
// the buildpack generates (funcframework plus a blank import of the function).
func TestFunctionSourceBuildsAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "function")
	stage := exec.Command(filepath.Join(repoRoot, "scripts", "function-source.sh"), dir)
	if out, err := stage.CombinedOutput(); err != nil {
		t.Fatalf("function-source.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"go.mod", "go.sum", "notify.go", "vendor/modules.txt", ".gcloudignore",
		"vendor/github.com/vividly-edu/notifications/shared/notification"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("staged source lacks %s", want)
		}
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, "_test.go") && !strings.Contains(p, "/vendor/") {
			t.Errorf("test file uploaded: %s", p)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "shared")); err == nil {
		t.Fatal("shared/ exists beside the staged source; the build would not prove anything")
	}

	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=vendor", "GOPROXY=off", "GOTOOLCHAIN=local")
	// -trimpath keeps the temporary directory out of the build cache's keys, so a
	// second run reuses the first one's work.
	for _, args := range [][]string{{"build", "-trimpath", "./..."}, {"build", "-trimpath", "-o", filepath.Join(t.TempDir(), "fn"), "./cmd/local"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s in the staged source: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
