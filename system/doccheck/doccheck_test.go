// Package doccheck holds the test that keeps the documentation true about names: every
// file path, make target and environment variable a doc names in backticks exists.
package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// root is the repository, two levels up from this package.
const root = "../.."

var (
	code = regexp.MustCompile("`([^`\n]+)`")
	// shellLine is a command line in a fenced block (a block may also be a file tree).
	shellLine = regexp.MustCompile(`^\s*(\$ )?(make |.*(&&|;) make )`)
	// makeCmd is `make target …` in a code span or a shell line.
	makeCmd = regexp.MustCompile(`(?:^|[\s(;&|])make ([a-z][a-z0-9-]*)`)
	envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)
	// pathLike is a relative path under one of the repository's top-level folders.
	pathLike = regexp.MustCompile(`^(?:\./)?((?:shared|functions|stream|system|infra|terraform|scripts|docs|\.ci|\.github)/[A-Za-z0-9_./{}*-]*)`)
	target   = regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`)
)

// external are environment variables defined by others (Go, Google Cloud, the OS,
// the tools the scripts call) that docs rightly mention.
var external = map[string]bool{
	"GOOGLE_APPLICATION_CREDENTIALS": true, "GOOGLE_CLOUD_PROJECT": true, "K_SERVICE": true,
	"K_REVISION": true, "GOMAXPROCS": true, "GOMEMLIMIT": true, "GOFLAGS": true, "GOBIN": true,
	"GOPROXY": true, "GOCACHE": true, "GOPATH": true, "TF_CLI_CONFIG_FILE": true, "TF_VAR_project_id": true,
	"CLOUDSDK_CORE_PROJECT": true, "PROJECT_ID": true, "SHORT_SHA": true, "BUILD_ID": true,
	"TF_PLUGIN_CACHE_DIR": true, "HOME": true, "PATH": true, "CI": true, "FUNCTION_TARGET": true,
}

// docs are the Markdown files a reader of a clone sees.
func docs(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append(files, filepath.Join(root, "README.md"))
}

// corpus is every tracked-looking source and config text the names must occur in.
func corpus(t *testing.T) string {
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") && name != ".ci" && name != ".github" || name == "bin" || name == "artifacts" || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".sh", ".tf", ".tfvars", ".hcl", ".yaml", ".yml", ".js", ".html", "":
			if strings.HasSuffix(name, ".md") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(data)
			b.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	b.Write(mk)
	return b.String()
}

// TestDocsNameWhatExists fails when README.md or docs/*.md names, in a code span, a
// repository path that does not exist, a make target the Makefile lacks, or an
// environment variable no code, script or Terraform reads.
func TestDocsNameWhatExists(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range target.FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	src := corpus(t)
	for _, doc := range docs(t) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		fenced := false
		for i, line := range strings.Split(string(data), "\n") {
			where := rel + ":" + strconv.Itoa(i+1)
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				fenced = !fenced
				continue
			}
			// Commands are code: a fenced block's command lines, or code spans in
			// prose ("make a change" is English).
			var cmds []string
			if fenced && shellLine.MatchString(line) {
				cmds = []string{line}
			}
			if !fenced {
				cmds = nil
				for _, span := range code.FindAllStringSubmatch(line, -1) {
					cmds = append(cmds, span[1])
					checkSpan(t, where, span[1], src)
				}
			}
			for _, c := range cmds {
				for _, m := range makeCmd.FindAllStringSubmatch(c, -1) {
					if !targets[m[1]] {
						t.Errorf("%s: `make %s`: no such Makefile target", where, m[1])
					}
				}
			}
		}
	}
}

func checkSpan(t *testing.T, where, span, src string) {
	t.Helper()
	word := strings.TrimRight(strings.Fields(span + " x")[0], ".,:;")
	if name, _, _ := strings.Cut(word, "="); envName.MatchString(name) && !external[name] {
		if !strings.Contains(src, name) {
			t.Errorf("%s: environment variable %s is read nowhere", where, name)
		}
	}
	m := pathLike.FindStringSubmatch(word)
	if m == nil || strings.ContainsAny(m[1], "{}*") {
		return
	}
	p, _, _ := strings.Cut(m[1], ":") // file:line
	p = strings.TrimSuffix(p, "/")
	if _, err := os.Stat(filepath.Join(root, p)); err == nil {
		return
	}
	// A package's identifier: stream/internal/memlimit.SetGCPercent.
	if dir, ident, ok := cutLast(p, "."); ok && ident != "" && ident[0] >= 'A' && ident[0] <= 'Z' {
		if st, err := os.Stat(filepath.Join(root, dir)); err == nil && st.IsDir() {
			return
		}
	}
	t.Errorf("%s: path %s does not exist", where, p)
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
