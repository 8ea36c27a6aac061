package memlimit

import (
	"errors"
	"runtime/debug"
	"testing"
)

func TestContainerLimit(t *testing.T) {
	t.Parallel()
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, errors.New("no such file")
		}
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"cgroup v2 limit (Cloud Run 1 GiB)", map[string]string{cgroupFiles[0]: "1073741824\n"}, 1 << 30},
		{"cgroup v2 unlimited", map[string]string{cgroupFiles[0]: "max\n"}, 0},
		{"cgroup v1 limit", map[string]string{cgroupFiles[1]: "536870912\n"}, 512 << 20},
		{"cgroup v1 unlimited", map[string]string{cgroupFiles[1]: "9223372036854771712\n"}, 0},
		{"v2 unlimited, v1 limited", map[string]string{cgroupFiles[0]: "max", cgroupFiles[1]: "268435456"}, 256 << 20},
		{"no cgroup", nil, 0},
		{"garbage", map[string]string{cgroupFiles[0]: "lots"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := containerLimit(files(tc.files)); got != tc.want {
				t.Errorf("limit %d, want %d", got, tc.want)
			}
		})
	}
}

// An operator's GOMEMLIMIT is never overridden.
func TestSetLeavesGOMEMLIMITAlone(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	applied, from := Set(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "100MiB"
		}
		return ""
	})
	if applied != 0 || from != "GOMEMLIMIT" || debug.SetMemoryLimit(-1) != before {
		t.Fatalf("applied %d from %s; the runtime limit changed", applied, from)
	}
}

// TestSetGCPercent: without GOGC the stream's default applies; with it, the runtime's
// setting (the operator's) is left alone.
func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if !SetGCPercent(func(string) string { return "" }) {
		t.Fatal("GOGC unset: not applied")
	}
	if got := debug.SetGCPercent(77); got != GCPercent {
		t.Errorf("GC percent %d, want %d", got, GCPercent)
	}
	if SetGCPercent(func(k string) string {
		if k == "GOGC" {
			return "300"
		}
		return ""
	}) {
		t.Error("GOGC set: applied anyway")
	}
	if got := debug.SetGCPercent(100); got != 77 {
		t.Errorf("GC percent changed to %d with GOGC set", got)
	}
}
