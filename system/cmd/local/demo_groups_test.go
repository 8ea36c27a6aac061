package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// LOCAL_DEMO_GROUPS puts the demo centre's students (whose page asks the token helper
// for no groups) in a class, so the teacher's receipts page counts them; a request
// that names its groups (the room and receipts pages) keeps its own.
func TestDevTokenDefaultGroups(t *testing.T) {
	const secret = "groups-secret"
	h := devTokenHandler(secret, "student-1", "demo-class")
	groupsOf := func(query string) string {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/demo/dev-token?"+query, nil))
		var body struct{ Token string }
		_ = json.NewDecoder(rec.Body).Decode(&body)
		c := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(body.Token, c, func(*jwt.Token) (any, error) { return []byte(secret), nil }); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		got, _ := json.Marshal(c["groups"])
		return string(got)
	}
	for query, want := range map[string]string{
		"user=kim":                               `["demo-class"]`,
		"user=ms-c&groups=class-a&roles=teacher": `["class-a"]`,
	} {
		if got := groupsOf(query); got != want {
			t.Errorf("%s: groups %s, want %s", query, got, want)
		}
	}
}

// A malformed LOCAL_DEMO_GROUPS stops the local system at start, naming the variable.
func TestDemoGroupsValidated(t *testing.T) {
	env := map[string]string{"LOCAL_DEMO_GROUPS": "class a", "PORT": "0", "FUNCTION_PORT": "0"}
	// A deadline, so a run that wrongly starts ends (and fails the test) instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := run(ctx, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LOCAL_DEMO_GROUPS") {
		t.Fatalf("run: %v, want an error naming LOCAL_DEMO_GROUPS", err)
	}
}

// The banner offers the receipts page for the demo's class, and says when it is off
// (no Redis) or has no students (no LOCAL_DEMO_GROUPS).
func TestReceiptsBanner(t *testing.T) {
	for _, c := range []struct {
		name   string
		redis  bool
		groups []string
		want   []string
	}{
		{"memory", false, nil, []string{"receipts.html?class=demo-class&user=teacher-1", "receipts need Redis"}},
		{"redis, no class", true, nil, []string{"class=demo-class", "LOCAL_DEMO_GROUPS=demo-class"}},
		{"redis and a class", true, []string{"class-7b", "class-8a"}, []string{"class=class-7b&user=teacher-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			printReceiptsBanner(&out, "8080", c.redis, c.groups)
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("banner lacks %q:\n%s", w, out.String())
				}
			}
			if c.redis && len(c.groups) > 0 && strings.Contains(out.String(), "\n  (") {
				t.Errorf("a working setup still gets a caveat:\n%s", out.String())
			}
		})
	}
}
