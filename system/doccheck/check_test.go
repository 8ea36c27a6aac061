package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var (
	code = regexp.MustCompile("`([^`\n]+)`")
	// makeCmd is `make target …` in a code span or a command line.
	makeCmd = regexp.MustCompile(`(?:^|[\s(;&|])make ([a-z][a-z0-9-]*)`)
	// envName is a variable named alone in prose: an underscore sets it apart from an
	// acronym (`JSON`, `HTTP`).
	envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)
	// assignment is NAME=value: a variable whatever its name (`SHARDS=3 make …`).
	assignment = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=`)
	// pathLike is a relative path under one of the repository's top-level folders.
	pathLike = regexp.MustCompile(`^(?:\./)?((?:shared|functions|stream|system|infra|terraform|scripts|docs|dashboards|\.ci|\.github)/[A-Za-z0-9_./{}*-]*)`)
	target   = regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`)
	// upperWord is a word a variable may be named by in code (whole: NOPE is not read
	// where only NOPERM is).
	upperWord = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*\b`)
	// command is the first word of a command line in a fenced block (a block may also
	// hold a file tree, output or JSON, which are not checked).
	command = regexp.MustCompile(`^(make|go|bash|terraform|gcloud|curl|redis-cli|\./\S+|scripts/\S+|bin/\S+)$`)
)

// external are environment variables defined by others (Go, Google Cloud, the OS,
// the tools the scripts call) that docs rightly mention.
var external = map[string]bool{
	"GOOGLE_APPLICATION_CREDENTIALS": true, "GOOGLE_CLOUD_PROJECT": true, "K_SERVICE": true,
	"K_REVISION": true, "GOMAXPROCS": true, "GOMEMLIMIT": true, "GOFLAGS": true, "GOBIN": true,
	"GOPROXY": true, "GOCACHE": true, "GOPATH": true, "TF_CLI_CONFIG_FILE": true, "TF_VAR_project_id": true,
	"CLOUDSDK_CORE_PROJECT": true, "PROJECT_ID": true, "SHORT_SHA": true, "BUILD_ID": true,
	"TF_PLUGIN_CACHE_DIR": true, "HOME": true, "PATH": true, "CI": true, "FUNCTION_TARGET": true,
	"GOGC": true, "GODEBUG": true, "GOWORK": true, "GOOS": true, "GOARCH": true, "CGO_ENABLED": true,
}

// checker knows what exists in one repository tree.
type checker struct {
	root    string
	targets map[string]bool // the Makefile's targets
	names   map[string]bool // every upper-case word of the sources, scripts and configs
}

// check returns what README.md and docs/*.md under root name, in a code span or on a
// command line of a fenced block, that does not exist: a repository path, a make
// target the Makefile lacks, an environment variable no code, script or Terraform
// reads. Each problem is "doc:line: what".
func check(root string) ([]string, error) {
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return nil, err
	}
	c := checker{root: root, targets: map[string]bool{}}
	for _, m := range target.FindAllStringSubmatch(string(mk), -1) {
		c.targets[m[1]] = true
	}
	src, err := corpus(root)
	if err != nil {
		return nil, err
	}
	c.names = map[string]bool{}
	for _, w := range upperWord.FindAllString(src, -1) {
		c.names[w] = true
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, doc := range append(docs, filepath.Join(root, "README.md")) {
		data, err := os.ReadFile(doc)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, doc)
		fenced := false
		for i, line := range strings.Split(string(data), "\n") {
			where := rel + ":" + strconv.Itoa(i+1)
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				fenced = !fenced
				continue
			}
			var found []string
			if fenced {
				found = c.commandLine(line)
			} else {
				// In prose only code spans count ("make a change" is English).
				for _, span := range code.FindAllStringSubmatch(line, -1) {
					found = append(found, c.span(span[1])...)
				}
			}
			for _, f := range found {
				problems = append(problems, where+": "+f)
			}
		}
	}
	return problems, nil
}

// span checks a code span: a make command, a variable (alone or assigned), a path.
func (c *checker) span(s string) []string {
	found := c.makeTargets(s)
	word := strings.TrimRight(strings.Fields(s + " x")[0], ".,:;")
	if name, _, _ := strings.Cut(word, "="); envName.MatchString(name) || assignment.MatchString(word) {
		found = append(found, c.variable(name)...)
	}
	return append(found, c.path(word)...)
}

// commandLine checks a fenced line that runs commands: each command's leading
// assignments, its make targets and the paths among its words.
func (c *checker) commandLine(line string) []string {
	var found []string
	for _, cmd := range strings.FieldsFunc(line, func(r rune) bool { return r == ';' || r == '&' || r == '|' }) {
		words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(cmd), "$ "))
		i := 0
		for ; i < len(words) && assignment.MatchString(words[i]); i++ {
		}
		if i == len(words) || !command.MatchString(words[i]) {
			continue
		}
		for _, w := range words[:i] {
			found = append(found, c.variable(assignment.FindStringSubmatch(w)[1])...)
		}
		found = append(found, c.makeTargets(cmd)...)
		for _, w := range words[i:] {
			found = append(found, c.path(w)...)
		}
	}
	return found
}

func (c *checker) makeTargets(s string) []string {
	var found []string
	for _, m := range makeCmd.FindAllStringSubmatch(s, -1) {
		if !c.targets[m[1]] {
			found = append(found, fmt.Sprintf("`make %s`: no such Makefile target", m[1]))
		}
	}
	return found
}

func (c *checker) variable(name string) []string {
	if external[name] || c.names[name] {
		return nil
	}
	return []string{"environment variable " + name + " is read nowhere"}
}

func (c *checker) path(word string) []string {
	m := pathLike.FindStringSubmatch(word)
	if m == nil || strings.ContainsAny(m[1], "{}*") {
		return nil
	}
	p, _, _ := strings.Cut(m[1], ":") // file:line
	p = strings.TrimSuffix(p, "/")
	if _, err := os.Stat(filepath.Join(c.root, p)); err == nil {
		return nil
	}
	// A package's identifier: stream/internal/memlimit.SetGCPercent.
	if i := strings.LastIndex(p, "."); i >= 0 && i+1 < len(p) && p[i+1] >= 'A' && p[i+1] <= 'Z' {
		if st, err := os.Stat(filepath.Join(c.root, p[:i])); err == nil && st.IsDir() {
			return nil
		}
	}
	return []string{"path " + p + " does not exist"}
}

// corpus is every source and config text under root (and the Makefile) in which the
// variables must occur.
func corpus(root string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// This package is left out: its test fixtures name variables on purpose.
			if p != root && (strings.HasPrefix(name, ".") && name != ".ci" && name != ".github" || name == "bin" || name == "artifacts" || name == "node_modules" || name == "testdata" || p == filepath.Join(root, "system", "doccheck")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".sh", ".tf", ".tfvars", ".hcl", ".yaml", ".yml", ".js", ".html", "":
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(data)
			b.WriteByte('\n')
		}
		return nil
	})
	return b.String(), err
}
