package infra

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAttachDeadLetterScript runs the script Terraform calls (terraform_data in
// terraform/dead_letter.tf; a plan never runs it) with a stand-in gcloud that records
// its arguments: it must look the subscription up from the trigger, grant the
// service agent subscriber on it, then set the policy.
func TestAttachDeadLetterScript(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	fake := "#!/bin/sh\necho \"$*\" >> " + log + "\ncase \"$1 $2\" in\n  'eventarc triggers') echo projects/p/subscriptions/eventarc-sub;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "gcloud"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) (string, error) {
		cmd := exec.Command(filepath.Join(repoRoot, "terraform", "scripts", "attach-dead-letter.sh"))
		cmd.Env = append([]string{"PATH=" + dir + ":/usr/bin:/bin"}, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("TRIGGER=projects/p/locations/r/triggers/t"); err == nil {
		t.Fatalf("ran without DEAD_LETTER etc.:\n%s", out)
	}
	out, err := run("TRIGGER=projects/p/locations/r/triggers/t", "DEAD_LETTER=projects/p/topics/dlq",
		"MAX_ATTEMPTS=10", "PUBSUB_MEMBER=serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	want := []string{
		"eventarc triggers describe projects/p/locations/r/triggers/t --format=value(transport.pubsub.subscription)",
		"pubsub subscriptions add-iam-policy-binding projects/p/subscriptions/eventarc-sub --member=serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com --role=roles/pubsub.subscriber --quiet",
		"pubsub subscriptions update projects/p/subscriptions/eventarc-sub --dead-letter-topic=projects/p/topics/dlq --max-delivery-attempts=10 --quiet",
	}
	if got := strings.Split(strings.TrimSpace(string(calls)), "\n"); !slices.Equal(got, want) {
		t.Errorf("gcloud calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
