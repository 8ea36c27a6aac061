package bidi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserPref(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		value any
		want  string
	}{
		{"bool", false, `user_pref("p", false);` + "\n"},
		{"int", -1, `user_pref("p", -1);` + "\n"},
		{"string", `a"b\c`, `user_pref("p", "a\"b\\c");` + "\n"},
		{"data URL", "data:,#x/v1", `user_pref("p", "data:,#x/v1");` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := userPref("p", tc.value)
			if err != nil || got != tc.want {
				t.Errorf("userPref = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := userPref("p", 1.5); err == nil {
		t.Error("a float pref was accepted")
	}
}

func TestWriteUserJS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	err := writeUserJS(dir, map[string]any{
		"network.proxy.type": 1,    // overrides a default
		"zz.extra":           "on", // adds one
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "user.js"))
	if err != nil {
		t.Fatal(err)
	}
	js := string(data)
	for _, want := range []string{
		// What the brief for a quiet, offline browser names, and the overrides.
		`user_pref("app.update.enabled", false);`,
		`user_pref("browser.shell.checkDefaultBrowser", false);`,
		`user_pref("datareporting.policy.dataSubmissionEnabled", false);`,
		`user_pref("toolkit.telemetry.enabled", false);`,
		`user_pref("network.captive-portal-service.enabled", false);`,
		`user_pref("browser.safebrowsing.malware.enabled", false);`,
		`user_pref("extensions.update.enabled", false);`,
		`user_pref("network.proxy.type", 1);`,
		`user_pref("zz.extra", "on");`,
	} {
		if !strings.Contains(js, want+"\n") {
			t.Errorf("user.js lacks %s", want)
		}
	}
	if strings.Count(js, `"network.proxy.type"`) != 1 {
		t.Error("network.proxy.type set twice")
	}
	lines := strings.Split(strings.TrimSpace(js), "\n")[1:]
	for i := 1; i < len(lines); i++ {
		if lines[i-1] >= lines[i] {
			t.Fatalf("user.js not sorted: %q before %q", lines[i-1], lines[i])
		}
	}
	if err := writeUserJS(dir, map[string]any{"bad": 0.5}); err == nil {
		t.Error("a float pref was written")
	}
}
