package infra

import (
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// evaluator reads attribute values of the configuration for one environment.
type evaluator struct {
	t      *testing.T
	m      *module
	vars   map[string]cty.Value
	locals map[string]cty.Value
}

func newEvaluator(t *testing.T, m *module, env string, overrides map[string]cty.Value) *evaluator {
	vars := m.envValues(t, env)
	for k, v := range overrides {
		vars[k] = v
	}
	return &evaluator{t: t, m: m, vars: vars, locals: m.evalLocals(vars)}
}

// block finds the nested block at path (block types) inside resource key.
func (e *evaluator) block(key string, path ...string) *hclsyntax.Body {
	e.t.Helper()
	b := e.m.resources[key]
	if b == nil {
		e.t.Fatalf("no resource %s", key)
	}
	body := b.Body
	for _, typ := range path {
		var next *hclsyntax.Body
		for _, nb := range body.Blocks {
			if nb.Type == typ {
				next = nb.Body
				break
			}
		}
		if next == nil {
			e.t.Fatalf("%s has no %s block", key, strings.Join(path, "."))
		}
		body = next
	}
	return body
}

// value evaluates attribute name of the block at path in resource key.
func (e *evaluator) value(key, name string, path ...string) cty.Value {
	e.t.Helper()
	a := e.block(key, path...).Attributes[name]
	if a == nil {
		e.t.Fatalf("%s %v has no attribute %s", key, path, name)
	}
	v, diags := a.Expr.Value(evalContext(e.vars, e.locals))
	if diags.HasErrors() {
		e.t.Fatalf("%s.%s: %s", key, name, diags.Error())
	}
	return v
}

func (e *evaluator) str(key, name string, path ...string) string {
	return e.value(key, name, path...).AsString()
}

func (e *evaluator) num(key, name string, path ...string) *big.Float {
	return e.value(key, name, path...).AsBigFloat()
}

func strs(v cty.Value) []string {
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, x := it.Element()
		out = append(out, x.AsString())
	}
	return out
}

func wantNum(t *testing.T, what string, got *big.Float, want float64) {
	t.Helper()
	if f, _ := got.Float64(); f != want {
		t.Errorf("%s = %v, want %v", what, f, want)
	}
}

// TestPlanNumbers: dev and prod get the plan's numbers (REQUIREMENTS "Infrastructure"),
// both in their variable files and where the resources fix them.
func TestPlanNumbers(t *testing.T) {
	m := loadModule(t)
	plan := map[string]map[string]any{
		"dev": {"redis_tier": "BASIC", "redis_memory_size_gb": 1.0, "redis_max_clients": 10000.0,
			"connector_machine_type": "e2-micro", "connector_max_throughput": 300.0},
		"prod": {"redis_tier": "STANDARD_HA", "redis_memory_size_gb": 5.0, "redis_max_clients": 50000.0,
			"connector_machine_type": "e2-standard-4", "connector_max_throughput": 1000.0},
	}
	for env, want := range plan {
		e := newEvaluator(t, m, env, nil)
		for name, w := range want {
			v := e.vars[name]
			switch w := w.(type) {
			case string:
				if v.AsString() != w {
					t.Errorf("%s: %s = %s, want %s", env, name, v.AsString(), w)
				}
			case float64:
				wantNum(t, env+": "+name, v.AsBigFloat(), w)
			}
		}
		wantNum(t, env+": connector min instances", e.num("google_vpc_access_connector.main", "min_instances"), 2)
		wantNum(t, env+": connector max instances", e.num("google_vpc_access_connector.main", "max_instances"), 10)
		if got := e.str("google_compute_subnetwork.redis", "ip_cidr_range"); got != "10.10.0.0/24" {
			t.Errorf("%s: redis subnet %s", env, got)
		}
		if got := e.str("google_compute_subnetwork.connector", "ip_cidr_range"); got != "10.10.1.0/28" {
			t.Errorf("%s: connector subnet %s", env, got)
		}
		if got := e.str("google_redis_instance.main", "region"); got != "us-central1" {
			t.Errorf("%s: region %s", env, got)
		}
		if !e.vars["redis_auth_enabled"].True() || !e.vars["redis_transit_encryption"].True() {
			t.Errorf("%s: Redis AUTH and TLS must be on", env)
		}
		if env == "prod" && !e.vars["redis_deletion_protection"].True() {
			t.Error("prod: Redis deletion protection off")
		}
	}

	e := newEvaluator(t, m, "prod", nil)
	if got := e.str("google_compute_subnetwork.redis", "aggregation_interval", "log_config"); got != "INTERVAL_5_SEC" {
		t.Errorf("flow log interval %s", got)
	}
	wantNum(t, "flow log sampling", e.num("google_compute_subnetwork.redis", "flow_sampling", "log_config"), 0.5)

	const redis = "google_redis_instance.main"
	if got := e.str(redis, "connect_mode"); got != "DIRECT_PEERING" {
		t.Errorf("connect_mode %s", got)
	}
	if !strings.HasPrefix(e.str(redis, "redis_version"), "REDIS_7") {
		t.Errorf("redis_version %s", e.str(redis, "redis_version"))
	}
	cfg := e.value(redis, "redis_configs").AsValueMap()
	for k, want := range map[string]string{"maxmemory-policy": "volatile-lru", "notify-keyspace-events": "Ex",
		"maxclients": "50000", "timeout": "300"} {
		if got := cfg[k]; got.IsNull() || got.AsString() != want {
			t.Errorf("redis_configs[%s] = %#v, want %s", k, got, want)
		}
	}
	if got := e.str(redis, "day", "maintenance_policy", "weekly_maintenance_window"); got != "SUNDAY" {
		t.Errorf("maintenance day %s", got)
	}
	wantNum(t, "maintenance hour", e.num(redis, "hours", "maintenance_policy", "weekly_maintenance_window", "start_time"), 2)
	wantNum(t, "maintenance minute", e.num(redis, "minutes", "maintenance_policy", "weekly_maintenance_window", "start_time"), 0)
	if got := e.str(redis, "transit_encryption_mode"); got != "SERVER_AUTHENTICATION" {
		t.Errorf("transit_encryption_mode %s", got)
	}
}

// TestRedisFirewall: the only rule that opens the Redis port admits exactly the
// egress ranges (the connector's /28, plus the Redis subnet under Direct VPC egress),
// and no rule opens the Redis tag to anything else.
func TestRedisFirewall(t *testing.T) {
	m := loadModule(t)
	for _, c := range []struct {
		egress string
		want   []string
	}{
		{"connector", []string{"10.10.1.0/28"}},
		{"direct", []string{"10.10.1.0/28", "10.10.0.0/24"}},
	} {
		e := newEvaluator(t, m, "prod", map[string]cty.Value{"stream_vpc_egress": cty.StringVal(c.egress)})
		redisTag := e.vars["redis_target_tag"].AsString()
		opened := 0
		for _, key := range sortedKeys(m.resources) {
			if !strings.HasPrefix(key, "google_compute_firewall.") {
				continue
			}
			if !slices.Contains(strs(e.value(key, "target_tags")), redisTag) {
				continue
			}
			if dir := e.str(key, "direction"); dir != "INGRESS" {
				t.Errorf("%s: direction %s", key, dir)
			}
			opened++
			src := strs(e.value(key, "source_ranges"))
			if !slices.Equal(src, c.want) {
				t.Errorf("egress %s: %s admits %v, want only %v", c.egress, key, src, c.want)
			}
			ports := strs(e.value(key, "ports", "allow"))
			if !slices.Contains(ports, "6379") || slices.Contains(ports, "22") {
				t.Errorf("%s: ports %v", key, ports)
			}
		}
		if opened != 1 {
			t.Errorf("%d firewall rules target the Redis tag, want 1", opened)
		}
	}
	e := newEvaluator(t, m, "prod", nil)
	hc := strs(e.value("google_compute_firewall.health_checks", "source_ranges"))
	if !slices.Equal(hc, []string{"130.211.0.0/22", "35.191.0.0/16"}) {
		t.Errorf("health-check ranges %v", hc)
	}
}

// TestServiceSettings: the Cloud Run and function settings SSE and at-least-once
// delivery depend on (docs/DEPLOY.md explains each).
func TestServiceSettings(t *testing.T) {
	m := loadModule(t)
	e := newEvaluator(t, m, "prod", nil)
	const run = "google_cloud_run_v2_service.stream"
	wantNum(t, "concurrency", e.num(run, "max_instance_request_concurrency", "template"), 1000)
	if got := e.str(run, "timeout", "template"); got != "3600s" {
		t.Errorf("request timeout %s", got)
	}
	if e.value(run, "cpu_idle", "template", "containers", "resources").True() {
		t.Error("cpu_idle must be false (instance-based billing)")
	}
	if got := e.str(run, "path", "template", "containers", "startup_probe", "http_get"); got != "/readyz" {
		t.Errorf("startup probe %s", got)
	}
	if got := e.str(run, "path", "template", "containers", "liveness_probe", "http_get"); got != "/healthz" {
		t.Errorf("liveness probe %s", got)
	}
	if e.str(run, "ingress") != "INGRESS_TRAFFIC_ALL" {
		t.Error("stream ingress must be public: browsers connect to it")
	}
	if !e.value(run, "deletion_protection").True() {
		t.Error("prod stream service not deletion-protected")
	}
	env, ok := e.locals["stream_env"]
	if !ok {
		t.Fatal("local.stream_env could not be evaluated")
	}
	if got := env.GetAttr("MAX_CONN_AGE").AsString(); got != "55m" {
		t.Errorf("MAX_CONN_AGE %s: streams must end before the 3600 s timeout", got)
	}

	const fn = "google_cloudfunctions2_function.notify"
	if got := e.str(fn, "retry_policy", "event_trigger"); got != "RETRY_POLICY_RETRY" {
		t.Errorf("function retry policy %s", got)
	}
	if got := e.str(fn, "event_type", "event_trigger"); got != "google.cloud.pubsub.topic.v1.messagePublished" {
		t.Errorf("event type %s", got)
	}
	if got := e.str(fn, "pubsub_topic", "event_trigger"); got != e.vars["content_job_topic"].AsString() {
		t.Errorf("trigger topic %s is not the existing content-job topic", got)
	}
	// Concurrent requests wedge the Functions Framework's CloudEvent receiver
	// (cloudevents/sdk-go#1224): one at a time per instance.
	wantNum(t, "function concurrency", e.num(fn, "max_instance_request_concurrency", "service_config"), 1)
	if got := e.str(fn, "ingress_settings", "service_config"); got != "ALLOW_INTERNAL_ONLY" {
		t.Errorf("function ingress %s", got)
	}
	for key := range m.resources {
		if strings.HasPrefix(key, "google_pubsub_topic.") && !strings.Contains(key, "dead_letter") {
			t.Errorf("%s: the content-job topic exists already and must not be created here", key)
		}
	}
	for _, key := range sortedKeys(m.resources) {
		if !strings.Contains(key, "_iam_") {
			continue
		}
		member := exprText(m.resources[key].Body.Attributes["member"].Expr)
		if strings.Contains(member, "allUsers") || strings.Contains(member, "allAuthenticatedUsers") {
			if key != "google_cloud_run_v2_service_iam_member.stream_public" {
				t.Errorf("%s grants %s", key, member)
			}
		}
	}
	if got := exprText(m.resources["google_cloud_run_v2_service_iam_member.trigger_invokes_function"].Body.Attributes["member"].Expr); got != "google_service_account.trigger.member" {
		t.Errorf("function invoker is %s, want only the trigger's account", got)
	}
}

// TestDeadLetterHasSubscription: the dead-letter topic keeps what it receives.
func TestDeadLetterHasSubscription(t *testing.T) {
	m := loadModule(t)
	sub := m.resources["google_pubsub_subscription.dead_letter"]
	if sub == nil || exprText(sub.Body.Attributes["topic"].Expr) != "google_pubsub_topic.dead_letter.id" {
		t.Fatal("the dead-letter topic has no subscription of its own")
	}
	e := newEvaluator(t, m, "prod", nil)
	if got := e.str("google_pubsub_subscription.dead_letter", "message_retention_duration"); got != "604800s" {
		t.Errorf("dead-letter retention %s", got)
	}
}

// TestAttachDeadLetterScript runs the script Terraform calls with a stand-in gcloud
// that records its arguments: it must look the subscription up from the trigger, grant
// the service agent subscriber on it, then set the policy.
func TestAttachDeadLetterScript(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	fake := "#!/bin/sh\necho \"$*\" >> " + log + "\ncase \"$1 $2\" in\n  'eventarc triggers') echo projects/p/subscriptions/eventarc-sub;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "gcloud"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) (string, error) {
		cmd := exec.Command(filepath.Join(tfDir, "scripts", "attach-dead-letter.sh"))
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

// TestTerraformFmt: the configuration is formatted as `terraform fmt` would.
func TestTerraformFmt(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform CLI not installed")
	}
	cmd := exec.Command(tf, "fmt", "-check", "-recursive", "-diff", tfDir)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out)
	}
}
