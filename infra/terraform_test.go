package infra

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Roots every Terraform expression may use besides declared objects.
var builtinRoots = map[string]bool{"path": true, "terraform": true, "each": true, "count": true, "self": true}

// TestReferencesResolve: every reference names a declared variable, local, resource or
// data source, so `terraform validate` (which needs providers we cannot download here)
// would not stop at an undeclared name.
func TestReferencesResolve(t *testing.T) {
	m := loadModule(t)
	checked := 0
	for file, body := range m.files {
		walkExprs(body, "", nil, func(e hclsyntax.Expression, iterators []string) {
			for _, tr := range e.Variables() {
				checked++
				if msg := m.resolve(tr, iterators); msg != "" {
					r := tr.SourceRange()
					t.Errorf("%s:%d: %s", file, r.Start.Line, msg)
				}
			}
		})
	}
	if checked < 100 {
		t.Fatalf("only %d references checked; the walker is missing expressions", checked)
	}
}

func (m *module) resolve(tr hcl.Traversal, iterators []string) string {
	root := tr.RootName()
	attr := func(i int) string {
		if i < len(tr) {
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	switch {
	case builtinRoots[root] || slices.Contains(iterators, root):
		return ""
	case root == "var":
		if m.variables[attr(1)] == nil {
			return "undeclared variable var." + attr(1)
		}
	case root == "local":
		if m.locals[attr(1)] == nil {
			return "undeclared local." + attr(1)
		}
	case root == "data":
		if m.data[attr(1)+"."+attr(2)] == nil {
			return "undeclared data." + attr(1) + "." + attr(2)
		}
	default:
		if m.resources[root+"."+attr(1)] == nil {
			return "undeclared resource " + root + "." + attr(1)
		}
	}
	return ""
}

// walkExprs visits every expression in body, with the iterator names of the dynamic
// blocks around it. lifecycle blocks hold attribute paths and a variable's type is a
// type constraint: neither holds references.
func walkExprs(body *hclsyntax.Body, blockType string, iterators []string, visit func(hclsyntax.Expression, []string)) {
	for name, a := range body.Attributes {
		if blockType == "variable" && name == "type" {
			continue
		}
		visit(a.Expr, iterators)
	}
	for _, b := range body.Blocks {
		switch {
		case b.Type == "lifecycle":
			continue
		case b.Type == "dynamic" && len(b.Labels) == 1:
			walkExprs(b.Body, b.Type, append(slices.Clone(iterators), b.Labels[0]), visit)
		default:
			walkExprs(b.Body, b.Type, iterators, visit)
		}
	}
}

// TestTfvarsDeclared: every key of an environment file is a declared variable, and
// every variable without a default has a value in each environment.
func TestTfvarsDeclared(t *testing.T) {
	m := loadModule(t)
	for _, env := range []string{"dev", "prod"} {
		vals := tfvars(t, filepath.Join(tfDir, "environments", env+".tfvars"))
		for _, k := range sortedKeys(vals) {
			if m.variables[k] == nil {
				t.Errorf("%s.tfvars sets undeclared variable %s", env, k)
			}
		}
		for _, name := range sortedKeys(m.variables) {
			if _, hasDefault := m.variables[name].Body.Attributes["default"]; !hasDefault {
				if _, ok := vals[name]; !ok {
					t.Errorf("%s.tfvars lacks required variable %s", env, name)
				}
			}
		}
		for _, f := range []string{env + ".backend.hcl"} {
			b := parseBody(t, filepath.Join(tfDir, "environments", f))
			for _, k := range []string{"bucket", "prefix"} {
				if b.Attributes[k] == nil {
					t.Errorf("%s: no %s", f, k)
				}
			}
		}
	}
}

// validate returns the error messages of every failed validation of variable name
// when the variables hold vals. An evaluation error counts as failed, as in Terraform.
func (m *module) validate(t *testing.T, name string, vals map[string]cty.Value) []string {
	t.Helper()
	var failed []string
	for _, b := range m.variables[name].Body.Blocks {
		if b.Type != "validation" {
			continue
		}
		v, diags := b.Body.Attributes["condition"].Expr.Value(evalContext(vals, nil))
		if diags.HasErrors() || v.IsNull() || !v.True() {
			msg, _ := b.Body.Attributes["error_message"].Expr.Value(nil)
			failed = append(failed, msg.AsString()+" "+diags.Error())
		}
	}
	return failed
}

func (m *module) envValues(t *testing.T, env string) map[string]cty.Value {
	return m.varValues(t, tfvars(t, filepath.Join(tfDir, "environments", env+".tfvars")))
}

// Values the plan allows and values it does not, for the variables it constrains.
var (
	goodValues = map[string][]cty.Value{
		"connector_subnet_cidr":   {cty.StringVal("10.10.1.0/28"), cty.StringVal("10.20.0.16/28")},
		"redis_subnet_cidr":       {cty.StringVal("10.10.0.0/24"), cty.StringVal("172.16.0.0/20")},
		"redis_tier":              {cty.StringVal("BASIC"), cty.StringVal("STANDARD_HA")},
		"redis_memory_size_gb":    {cty.NumberIntVal(1), cty.NumberIntVal(5), cty.NumberIntVal(300)},
		"redis_max_clients":       {cty.NumberIntVal(1000), cty.NumberIntVal(10000), cty.NumberIntVal(65000)},
		"connector_machine_type":  {cty.StringVal("e2-micro"), cty.StringVal("e2-standard-4"), cty.StringVal("f1-micro")},
		"connector_min_instances": {cty.NumberIntVal(2), cty.NumberIntVal(9)},
		"connector_max_instances": {cty.NumberIntVal(3), cty.NumberIntVal(10)},
		"connector_max_throughput": {cty.NumberIntVal(200), cty.NumberIntVal(300),
			cty.NumberIntVal(1000)},
		"stream_service_account_id":   {cty.StringVal("vividly-notify-stream")},
		"alert_notification_channels": {cty.ListVal([]cty.Value{cty.StringVal("projects/p-123456/notificationChannels/42")})},
		"content_job_topic":           {cty.StringVal("projects/vividly-prod/topics/content-job-finished")},
		"allowed_origins":             {cty.ListVal([]cty.Value{cty.StringVal("https://app.vividly.example"), cty.StringVal("http://localhost:3000")})},
		"dead_letter_max_attempts":    {cty.NumberIntVal(5), cty.NumberIntVal(100)},
		"stream_concurrency":          {cty.NumberIntVal(1000)},
	}
	badValues = map[string][]cty.Value{
		"connector_subnet_cidr": {cty.StringVal("10.10.1.0/27"), cty.StringVal("10.10.1.0/24"),
			cty.StringVal("10.10.1.3/28"), cty.StringVal("10.10.0.0/24"), cty.StringVal("not-a-cidr")},
		"redis_subnet_cidr":       {cty.StringVal("10.10.0.1/24"), cty.StringVal("10.10.0.0"), cty.StringVal("2001:db8::/64")},
		"redis_reserved_ip_range": {cty.StringVal("10.10.2.0/24"), cty.StringVal("10.10.1.0/28")},
		"redis_tier":              {cty.StringVal("PREMIUM"), cty.StringVal("basic"), cty.StringVal("")},
		"redis_memory_size_gb":    {cty.NumberIntVal(0), cty.NumberIntVal(301), cty.NumberFloatVal(1.5), cty.NumberIntVal(-5)},
		"redis_version":           {cty.StringVal("REDIS_6_X")},
		"redis_max_clients":       {cty.NumberIntVal(70000), cty.NumberIntVal(999), cty.NumberIntVal(0)},
		"connector_machine_type":  {cty.StringVal("n1-standard-1"), cty.StringVal("e2-standard-8")},
		"connector_min_instances": {cty.NumberIntVal(1), cty.NumberIntVal(10)},
		"connector_max_instances": {cty.NumberIntVal(2), cty.NumberIntVal(11)},
		"connector_max_throughput": {cty.NumberIntVal(100), cty.NumberIntVal(1100),
			cty.NumberIntVal(250)},
		"project_id":                  {cty.StringVal("X"), cty.StringVal("has_underscore")},
		"environment":                 {cty.StringVal("staging")},
		"stream_service_account_id":   {cty.StringVal(""), cty.StringVal("UPPER-case-id")},
		"stream_concurrency":          {cty.NumberIntVal(1001), cty.NumberIntVal(0)},
		"allowed_origins":             {cty.ListVal([]cty.Value{cty.StringVal("*")}), cty.ListVal([]cty.Value{cty.StringVal("https://a.example/path")})},
		"content_job_topic":           {cty.StringVal("content-job-finished"), cty.StringVal("projects/p/subscriptions/s")},
		"alert_notification_channels": {cty.ListVal([]cty.Value{cty.StringVal("email:ops@example.com")})},
		"dead_letter_max_attempts":    {cty.NumberIntVal(4), cty.NumberIntVal(101)},
		"function_runtime":            {cty.StringVal("go121")},
		"jwt_jwks_url":                {cty.StringVal("http://insecure.example/jwks")},
		"stream_vpc_egress":           {cty.StringVal("both")},
		"daily_build_schedule":        {cty.StringVal("daily")},
	}
)

// TestValidations: the environment files pass every validation; each good value
// passes; each bad value fails at least one validation of its variable.
func TestValidations(t *testing.T) {
	m := loadModule(t)
	for _, env := range []string{"dev", "prod"} {
		vals := m.envValues(t, env)
		for _, name := range sortedKeys(m.variables) {
			if failed := m.validate(t, name, vals); len(failed) > 0 {
				t.Errorf("%s: %s = %#v fails: %v", env, name, vals[name], failed)
			}
		}
	}
	base := m.envValues(t, "dev")
	with := func(name string, v cty.Value) map[string]cty.Value {
		vals := map[string]cty.Value{}
		for k, x := range base {
			vals[k] = x
		}
		vals[name] = v
		return vals
	}
	for name, vs := range goodValues {
		for _, v := range vs {
			if failed := m.validate(t, name, with(name, v)); len(failed) > 0 {
				t.Errorf("good %s = %#v rejected: %v", name, v, failed)
			}
		}
	}
	for name, vs := range badValues {
		if m.variables[name] == nil {
			t.Errorf("bad-value table names undeclared variable %s", name)
			continue
		}
		for _, v := range vs {
			if failed := m.validate(t, name, with(name, v)); len(failed) == 0 {
				t.Errorf("bad %s = %#v accepted", name, v)
			}
		}
	}
	// Validations that relate two variables: a maximum not above its minimum.
	for _, c := range []struct{ min, max, minV, maxV string }{
		{"connector_min_instances", "connector_max_instances", "5", "5"},
		{"stream_min_instances", "stream_max_instances", "4", "3"},
		{"function_min_instances", "function_max_instances", "10", "5"},
	} {
		vals := with(c.min, mustNumber(c.minV))
		vals[c.max] = mustNumber(c.maxV)
		if len(m.validate(t, c.max, vals)) == 0 {
			t.Errorf("%s=%s with %s=%s accepted", c.max, c.maxV, c.min, c.minV)
		}
	}
}

func mustNumber(s string) cty.Value {
	v, err := cty.ParseNumberVal(s)
	if err != nil {
		panic(err)
	}
	return v
}

// TestValidationsAgreeWithTerraform runs the real Terraform on the variables alone
// (no provider needed) so our evaluator cannot drift from Terraform's functions.
func TestValidationsAgreeWithTerraform(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform CLI not installed; TestValidations covers the same cases")
	}
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(tfDir, "variables.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "variables.tf"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("init", "-backend=false", "-input=false"); err != nil {
		t.Fatalf("terraform init: %v\n%s", err, out)
	}
	abs, _ := filepath.Abs(filepath.Join(tfDir, "environments"))
	for _, env := range []string{"dev", "prod"} {
		if out, err := run("plan", "-input=false", "-lock=false", "-var-file="+filepath.Join(abs, env+".tfvars")); err != nil {
			t.Errorf("terraform rejects %s.tfvars: %v\n%s", env, err, out)
		}
	}
	for _, c := range []struct{ name, value string }{
		{"connector_subnet_cidr", "10.10.1.0/27"}, {"redis_tier", "PREMIUM"},
		{"redis_memory_size_gb", "0"}, {"redis_max_clients", "70000"},
		{"redis_subnet_cidr", "10.10.0.1/24"}, {"connector_max_instances", "2"},
	} {
		out, err := run("plan", "-input=false", "-lock=false", "-var-file="+filepath.Join(abs, "dev.tfvars"), "-var", c.name+"="+c.value)
		if err == nil || !strings.Contains(out, "Invalid value for variable") {
			t.Errorf("terraform accepted %s=%s:\n%s", c.name, c.value, out)
		}
	}
}
