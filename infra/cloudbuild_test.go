package infra

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// cloudbuild.yaml's own consistency. Its agreement with Terraform (trigger
// substitutions, the names of the registry, service, container and function, the
// entry point, runtime and build account) is checked by terraform/tests/ci.tftest.hcl.
type cloudBuild struct {
	Substitutions map[string]string `yaml:"substitutions"`
	Options       struct {
		AutomapSubstitutions bool   `yaml:"automapSubstitutions"`
		Logging              string `yaml:"logging"`
		MachineType          string `yaml:"machineType"`
	} `yaml:"options"`
	Timeout string `yaml:"timeout"`
	Steps   []struct {
		ID      string   `yaml:"id"`
		Name    string   `yaml:"name"`
		Script  string   `yaml:"script"`
		Args    []string `yaml:"args"`
		Dir     string   `yaml:"dir"`
		WaitFor []string `yaml:"waitFor"`
		Volumes []struct {
			Name string `yaml:"name"`
			Path string `yaml:"path"`
		} `yaml:"volumes"`
	} `yaml:"steps"`
}

func loadCloudBuild(t *testing.T) cloudBuild {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "cloudbuild.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cb cloudBuild
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&cb); err != nil {
		t.Fatalf("cloudbuild.yaml: %v", err)
	}
	if len(cb.Steps) == 0 {
		t.Fatal("no steps")
	}
	return cb
}

// Variables Cloud Build defines itself, and the shell's own PATH.
var builtinSubs = []string{"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "TRIGGER_NAME",
	"COMMIT_SHA", "SHORT_SHA", "REVISION_ID", "BRANCH_NAME", "TAG_NAME", "REPO_NAME", "REPO_FULL_NAME",
	"SERVICE_ACCOUNT_EMAIL", "SERVICE_ACCOUNT", "PATH"}

var (
	subRef  = regexp.MustCompile(`\$\{?(_[A-Z0-9_]+)`)
	pathRef = regexp.MustCompile(`(?:^|[\s="'])\.?/?((?:scripts|stream|functions|shared|terraform)/[A-Za-z0-9_./-]+)`)
	makeRef = regexp.MustCompile(`\bmake ([a-z][a-z -]*)`)
)

// TestCloudBuildReferences: every file a step names exists, every make target is in
// the Makefile, every user substitution is defined with a default, every waitFor
// names an earlier step, and a volume a step mounts is shared with another step.
func TestCloudBuildReferences(t *testing.T) {
	cb := loadCloudBuild(t)
	if !cb.Options.AutomapSubstitutions {
		t.Error("scripts read substitutions from the environment: options.automapSubstitutions must be true")
	}
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range cb.Steps {
		if s.ID == "" || s.Script == "" || len(s.Args) > 0 {
			t.Errorf("step %q: every step has an id and a script (not args)", s.ID)
		}
		for _, w := range s.WaitFor {
			if w != "-" && !seen[w] {
				t.Errorf("step %s waits for %q, not an earlier step", s.ID, w)
			}
		}
		seen[s.ID] = true
		if s.Dir != "" && !isDir(filepath.Join(repoRoot, s.Dir)) {
			t.Errorf("step %s: dir %s does not exist", s.ID, s.Dir)
		}
		for _, m := range pathRef.FindAllStringSubmatch(s.Script, -1) {
			p := strings.TrimRight(m[1], ".")
			if strings.HasPrefix(p, "build/") {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
				t.Errorf("step %s names %s, which does not exist", s.ID, p)
			}
		}
		for _, m := range makeRef.FindAllStringSubmatch(s.Script, -1) {
			for _, target := range strings.Fields(m[1]) {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(makefile) {
					t.Errorf("step %s runs make %s; the Makefile has no such target", s.ID, target)
				}
			}
		}
		for _, m := range subRef.FindAllStringSubmatch(s.Script, -1) {
			if _, ok := cb.Substitutions[m[1]]; !ok {
				t.Errorf("step %s uses %s, which has no default in substitutions", s.ID, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]+)`).FindAllStringSubmatch(s.Script, -1) {
			if !slices.Contains(builtinSubs, m[1]) {
				t.Errorf("step %s uses $%s, which Cloud Build does not define", s.ID, m[1])
			}
		}
	}

	mounts := map[string]int{}
	for _, st := range cb.Steps {
		for _, v := range st.Volumes {
			if v.Name == "" || !strings.HasPrefix(v.Path, "/") || strings.HasPrefix(v.Path, "/workspace") {
				t.Errorf("step %s: volume %+v needs a name and an absolute path outside /workspace", st.ID, v)
			}
			mounts[v.Name+"\x00"+v.Path]++
		}
	}
	for k, n := range mounts {
		if n < 2 {
			t.Errorf("volume %q is mounted by one step only: nothing passes through it", strings.Replace(k, "\x00", " at ", 1))
		}
	}
	if !strings.Contains(stepScript(cb, "test"), `export PATH="/tools:$PATH"`) || !strings.Contains(stepScript(cb, "terraform-cli"), "/tools/terraform") {
		t.Error("make test runs scripts/terraform-check.sh: the test step needs the terraform CLI on its PATH")
	}
}

func stepScript(cb cloudBuild, id string) string {
	for _, s := range cb.Steps {
		if s.ID == id {
			return s.Script
		}
	}
	return ""
}

// TestCloudBuildImages: the image built is the image pushed and the image deployed,
// into the registry Terraform creates; the function deployed is the source staged,
// and its trigger and settings stay Terraform's.
func TestCloudBuildImages(t *testing.T) {
	cb := loadCloudBuild(t)
	script := map[string]string{}
	for _, s := range cb.Steps {
		script[s.ID] = s.Script
	}
	const image = `"$(cat /workspace/image)"`
	if !strings.Contains(script["image-name"], `> /workspace/image`) {
		t.Fatal("no step writes /workspace/image")
	}
	if !strings.Contains(script["image-name"], `$_REGION-docker.pkg.dev/$PROJECT_ID/$_AR_REPO/stream:`) {
		t.Errorf("image name is not in the Artifact Registry repository Terraform creates:\n%s", script["image-name"])
	}
	if !strings.Contains(script["image-name"], `${SHORT_SHA:-`) {
		t.Error("no fallback tag for builds without $SHORT_SHA")
	}
	for id, want := range map[string]string{
		"build-image":   "docker build -f stream/Dockerfile -t " + image + " .",
		"push-image":    "docker push " + image,
		"deploy-stream": "--container=stream --image=" + image,
	} {
		if !strings.Contains(script[id], want) {
			t.Errorf("step %s does not use the built image (%s):\n%s", id, want, script[id])
		}
	}
	images := 0
	for _, s := range cb.Steps {
		images += strings.Count(s.Script, "docker build") + strings.Count(s.Script, "docker push") + strings.Count(s.Script, "--image=")
		if strings.Contains(s.Script, "--image=") && !strings.Contains(s.Script, "--image="+image) {
			t.Errorf("step %s deploys an image other than the one built", s.ID)
		}
	}
	if images != 3 {
		t.Errorf("%d image references, want exactly build, push and deploy", images)
	}

	if !strings.Contains(script["function-source"], "./scripts/function-source.sh build/function") ||
		!strings.Contains(script["deploy-function"], "--source=build/function") {
		t.Error("the function deployed is not the source staged by scripts/function-source.sh")
	}
	for _, word := range []string{"--trigger", "--retry", "--set-env-vars", "--env-vars-file"} {
		if strings.Contains(script["deploy-function"], word) {
			t.Errorf("deploy-function passes %s: Terraform owns the trigger and settings", word)
		}
	}
}
