package infra

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyconvert "github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

const tfDir = "../terraform"

// module is the parsed Terraform configuration: every top-level block by kind.
type module struct {
	resources map[string]*hclsyntax.Block // "type.name"
	data      map[string]*hclsyntax.Block // "type.name"
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	outputs   map[string]*hclsyntax.Block
	files     map[string]*hclsyntax.Body
}

func loadModule(t *testing.T) *module {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(tfDir, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files in %s: %v", tfDir, err)
	}
	m := &module{
		resources: map[string]*hclsyntax.Block{}, data: map[string]*hclsyntax.Block{},
		variables: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{},
		outputs: map[string]*hclsyntax.Block{}, files: map[string]*hclsyntax.Body{},
	}
	for _, p := range paths {
		body := parseBody(t, p)
		m.files[filepath.Base(p)] = body
		for _, b := range body.Blocks {
			key := strings.Join(b.Labels, ".")
			var into map[string]*hclsyntax.Block
			switch b.Type {
			case "resource":
				into = m.resources
			case "data":
				into = m.data
			case "variable":
				into = m.variables
			case "output":
				into = m.outputs
			case "locals":
				for name, a := range b.Body.Attributes {
					if _, dup := m.locals[name]; dup {
						t.Errorf("local.%s declared twice", name)
					}
					m.locals[name] = a
				}
				continue
			case "terraform", "provider":
				continue
			default:
				t.Errorf("%s: unexpected top-level block %q", p, b.Type)
				continue
			}
			if _, dup := into[key]; dup {
				t.Errorf("%s %s declared twice", b.Type, key)
			}
			into[key] = b
		}
	}
	return m
}

func parseBody(t *testing.T, path string) *hclsyntax.Body {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %s", path, diags.Error())
	}
	return f.Body.(*hclsyntax.Body)
}

// tfvars reads a .tfvars file as literal values.
func tfvars(t *testing.T, path string) map[string]cty.Value {
	t.Helper()
	out := map[string]cty.Value{}
	for name, a := range parseBody(t, path).Attributes {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("%s: %s is not a literal: %s", path, name, diags.Error())
		}
		out[name] = v
	}
	return out
}

// varValues is every variable's value for one environment: its tfvars entry, else its
// default, converted to the declared type as Terraform would.
func (m *module) varValues(t *testing.T, env map[string]cty.Value) map[string]cty.Value {
	t.Helper()
	out := map[string]cty.Value{}
	for name, b := range m.variables {
		v, ok := env[name]
		if !ok {
			d, has := b.Body.Attributes["default"]
			if !has {
				t.Fatalf("variable %s has no default and no value", name)
			}
			var diags hcl.Diagnostics
			if v, diags = d.Expr.Value(nil); diags.HasErrors() {
				t.Fatalf("variable %s default: %s", name, diags.Error())
			}
		}
		out[name] = convertTo(t, b, v)
	}
	return out
}

func convertTo(t *testing.T, b *hclsyntax.Block, v cty.Value) cty.Value {
	t.Helper()
	typ := cty.DynamicPseudoType
	if a, ok := b.Body.Attributes["type"]; ok {
		switch hcl.ExprAsKeyword(a.Expr) {
		case "string":
			typ = cty.String
		case "number":
			typ = cty.Number
		case "bool":
			typ = cty.Bool
		default:
			if src := exprText(a.Expr); src == "list(string)" {
				typ = cty.List(cty.String)
			} else {
				t.Fatalf("variable %s: type %s not handled by this test", b.Labels[0], src)
			}
		}
	}
	if typ == cty.DynamicPseudoType {
		return v
	}
	if typ.IsListType() && (v.Type().IsTupleType() || v.Type().IsListType()) && v.LengthInt() == 0 {
		return cty.ListValEmpty(cty.String)
	}
	c, err := ctyconvert.Convert(v, typ)
	if err != nil {
		t.Fatalf("variable %s: %v", b.Labels[0], err)
	}
	return c
}

func exprText(e hclsyntax.Expression) string {
	r := e.Range()
	src, err := os.ReadFile(r.Filename)
	if err != nil {
		return ""
	}
	return string(src[r.Start.Byte:r.End.Byte])
}

// evalContext offers the Terraform functions our expressions use. A function that is
// not here makes evaluation fail, so a validation cannot pass by being skipped.
func evalContext(vars map[string]cty.Value, locals map[string]cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vars), "local": cty.ObjectVal(locals)},
		Functions: map[string]function.Function{
			"can":         tryfunc.CanFunc,
			"try":         tryfunc.TryFunc,
			"contains":    stdlib.ContainsFunc,
			"regex":       stdlib.RegexFunc,
			"split":       stdlib.SplitFunc,
			"floor":       stdlib.FloorFunc,
			"length":      stdlib.LengthFunc,
			"join":        stdlib.JoinFunc,
			"merge":       stdlib.MergeFunc,
			"tostring":    stringFunc(func(s string) (string, error) { return s, nil }),
			"alltrue":     allTrueFunc,
			"startswith":  prefixFunc(strings.HasPrefix),
			"endswith":    prefixFunc(strings.HasSuffix),
			"cidrnetmask": cidrNetmaskFunc,
			"cidrhost":    cidrHostFunc,
		},
	}
}

var allTrueFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		for it := args[0].ElementIterator(); it.Next(); {
			if _, v := it.Element(); !v.True() {
				return cty.False, nil
			}
		}
		return cty.True, nil
	},
})

func prefixFunc(f func(s, affix string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "s", Type: cty.String}, {Name: "affix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

func stringFunc(f func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := f(args[0].AsString())
			return cty.StringVal(s), err
		},
	})
}

// Terraform's cidrnetmask and cidrhost, for IPv4 as our variables use them.
var cidrNetmaskFunc = stringFunc(func(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return "", fmt.Errorf("invalid IPv4 CIDR %q", s)
	}
	mask := ^uint32(0) << (32 - p.Bits())
	return netip.AddrFrom4([4]byte{byte(mask >> 24), byte(mask >> 16), byte(mask >> 8), byte(mask)}).String(), nil
})

var cidrHostFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := netip.ParsePrefix(args[0].AsString())
		if err != nil || !p.Addr().Is4() {
			return cty.NilVal, fmt.Errorf("invalid IPv4 CIDR %q", args[0].AsString())
		}
		n, _ := args[1].AsBigFloat().Int64()
		if n < 0 || n >= 1<<(32-p.Bits()) {
			return cty.NilVal, fmt.Errorf("host number %d out of range", n)
		}
		b := p.Masked().Addr().As4()
		base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		h := base + uint32(n)
		return cty.StringVal(netip.AddrFrom4([4]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)}).String()), nil
	},
})

// evalLocals evaluates every local that depends only on variables and other such
// locals (the rest refer to resources, which only a plan knows).
func (m *module) evalLocals(vars map[string]cty.Value) map[string]cty.Value {
	out := map[string]cty.Value{}
	for progress := true; progress; {
		progress = false
		for name, a := range m.locals {
			if _, done := out[name]; done {
				continue
			}
			v, diags := a.Expr.Value(evalContext(vars, out))
			if !diags.HasErrors() && v.IsWhollyKnown() {
				out[name] = v
				progress = true
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
