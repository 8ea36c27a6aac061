// Package doccheck holds the test that keeps the documentation true about names: every
// file path, make target and environment variable README.md and docs/*.md name exists.
package doccheck

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDocsNameWhatExists fails when README.md or docs/*.md names, in a code span or on a
// command line of a fenced block, a repository path that does not exist, a make target
// the Makefile lacks, or an environment variable no code, script or Terraform reads.
func TestDocsNameWhatExists(t *testing.T) {
	problems, err := check("../..") // the repository, two levels up
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCheckFindsWhatDoesNotExist runs the check on a small tree whose doc names one of
// each kind that exists and one that does not, in prose and in a fenced block.
func TestCheckFindsWhatDoesNotExist(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Makefile", "build:\n\tgo build ./...\n")
	write("stream/main.go", "package main\n\nvar _ = os.Getenv(\"KNOWN_VAR\") + os.Getenv(\"SHARDS\") // NOPERM\n")
	write("scripts/run.sh", "#!/bin/sh\n")
	write("README.md", "See `stream/main.go`; run `make build` with `KNOWN_VAR` set.\n")
	write("docs/GUIDE.md", "Prose: `stream/gone.go`, `make deploy`, `GONE_VAR`, `ALONE=1`;\n"+
		"make a change (English, not a command), JSON and HTTP are no variables.\n"+
		"```sh\n"+
		"SHARDS=3 ./scripts/run.sh && make build\n"+
		"NOPE=1 scripts/gone.sh; make lint\n"+ // NOPE is not NOPERM
		"```\n"+
		"```\n"+
		"stream/        a tree line naming stream/absent.go is not checked\n"+
		"```\n")
	got, err := check(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docs/GUIDE.md:1: path stream/gone.go does not exist",
		"docs/GUIDE.md:1: `make deploy`: no such Makefile target",
		"docs/GUIDE.md:1: environment variable GONE_VAR is read nowhere",
		"docs/GUIDE.md:1: environment variable ALONE is read nowhere",
		"docs/GUIDE.md:5: environment variable NOPE is read nowhere",
		"docs/GUIDE.md:5: path scripts/gone.sh does not exist",
		"docs/GUIDE.md:5: `make lint`: no such Makefile target",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%q\nwant:\n%q", got, want)
	}
}
