package infra

import (
	"bufio"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

const repoRoot = ".."

type instruction struct{ op, args string }

func readDockerfile(t *testing.T, p string) (stages [][]instruction) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, args, _ := strings.Cut(line, " ")
		op = strings.ToUpper(op)
		if op == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", p, op)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], instruction{op, strings.TrimSpace(args)})
	}
	return stages
}

// dockerignore decides, as Docker does for these patterns, whether a path (relative
// to the context, slash-separated) is sent to the build: the last matching rule wins,
// and a rule matching a directory matches everything under it.
type dockerignore []string

func (d dockerignore) included(rel string) bool {
	in := true
	for _, rule := range d {
		neg := strings.HasPrefix(rule, "!")
		pat := strings.TrimSuffix(strings.TrimPrefix(rule, "!"), "/")
		if ignoreMatch(pat, rel) {
			in = neg
		}
	}
	return in
}

func ignoreMatch(pat, rel string) bool {
	parts := strings.Split(rel, "/")
	anyDepth := strings.HasPrefix(pat, "**/")
	pat = strings.TrimPrefix(pat, "**/")
	n := strings.Count(pat, "/") + 1
	for start := 0; start < len(parts); start++ {
		for end := start + n; end <= len(parts); end++ {
			if end-start != n {
				continue
			}
			if ok, _ := path.Match(pat, strings.Join(parts[start:end], "/")); ok {
				return true
			}
		}
		if !anyDepth {
			break
		}
	}
	return false
}

func readIgnore(t *testing.T) dockerignore {
	src, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var d dockerignore
	for _, l := range strings.Split(string(src), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			d = append(d, l)
		}
	}
	return d
}

func TestDockerignoreMatcher(t *testing.T) {
	d := readIgnore(t)
	for rel, want := range map[string]bool{
		"stream/cmd/stream/main.go": true, "shared/go.mod": true, "functions/notify.go": false, "system/cmd/local/main.go": false,
		"stream/server/stream_test.go": false, "shared/notification/testdata/x.json": false,
		"terraform/main.tf": false, ".git/config": false, "bin/stream": false, "functions/vendor/modules.txt": false,
	} {
		if got := d.included(rel); got != want {
			t.Errorf("%s included = %v, want %v", rel, got, want)
		}
	}
}

// TestStreamDockerfile runs the Dockerfile's build stage without Docker: a context
// holding exactly what .dockerignore lets through, the COPY instructions applied to a
// scratch root, and each RUN executed there. The binary must be static (distroless
// static has no libc), and the final stage must run it as non-root.
func TestStreamDockerfile(t *testing.T) {
	stages := readDockerfile(t, filepath.Join(repoRoot, "stream", "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build + runtime", len(stages))
	}
	ignore := readIgnore(t)
	root := t.TempDir()
	out := t.TempDir()
	workdir := root
	for _, in := range stages[0] {
		switch in.op {
		case "FROM":
			if !strings.HasPrefix(in.args, "golang:") {
				t.Errorf("build stage FROM %s", in.args)
			}
		case "WORKDIR":
			workdir = filepath.Join(root, in.args)
			if err := os.MkdirAll(workdir, 0o755); err != nil {
				t.Fatal(err)
			}
		case "COPY":
			f := strings.Fields(in.args)
			dst := filepath.Join(workdir, f[len(f)-1])
			if strings.HasSuffix(f[len(f)-1], "/") {
				dst += "/"
			}
			for _, src := range f[:len(f)-1] {
				copyContext(t, ignore, strings.TrimSuffix(src, "/"), dst)
			}
		case "RUN":
			script := strings.ReplaceAll(in.args, "/out/", out+"/")
			cmd := exec.Command("sh", "-c", script)
			cmd.Dir = workdir
			cmd.Env = append(os.Environ(), "GOFLAGS=")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("RUN %s: %v\n%s", in.args, err, b)
			}
		case "ENV", "ARG":
			t.Fatalf("%s is not emulated by this test; extend it", in.op)
		}
	}
	bin := filepath.Join(out, "stream")
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("build stage produced no binary at /out/stream: %v", err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary is dynamically linked; distroless/static cannot run it")
		}
	}

	final := map[string]string{}
	for _, in := range stages[1] {
		final[in.op] = in.args
	}
	if !strings.HasPrefix(final["FROM"], "gcr.io/distroless/static") || !strings.HasSuffix(final["FROM"], ":nonroot") {
		t.Errorf("runtime image %s, want distroless static :nonroot", final["FROM"])
	}
	if !strings.HasPrefix(final["USER"], "nonroot") {
		t.Errorf("USER %q", final["USER"])
	}
	if final["COPY"] != "--from=build /out/stream /stream" || final["ENTRYPOINT"] != `["/stream"]` {
		t.Errorf("runtime stage copies %q and runs %q", final["COPY"], final["ENTRYPOINT"])
	}
}

// copyContext copies src (relative to the repository, a file or directory) to dst
// as Docker's COPY would, skipping what .dockerignore keeps out of the context.
func copyContext(t *testing.T, ignore dockerignore, src, dst string) {
	t.Helper()
	base := filepath.Join(repoRoot, src)
	info, err := os.Stat(base)
	if err != nil {
		t.Fatalf("COPY %s: %v", src, err)
	}
	if !info.IsDir() {
		if !ignore.included(src) {
			t.Fatalf("COPY %s: excluded by .dockerignore", src)
		}
		if strings.HasSuffix(dst, "/") || isDir(dst) {
			dst = filepath.Join(dst, filepath.Base(src))
		}
		copyFile(t, base, dst)
		return
	}
	err = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		if d.IsDir() || !ignore.included(filepath.ToSlash(rel)) {
			return nil
		}
		inner, _ := filepath.Rel(base, p)
		copyFile(t, p, filepath.Join(dst, inner))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	outF, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	if _, err := io.Copy(outF, in); err != nil {
		t.Fatal(err)
	}
}
