package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// The room page asks the token helper for a teacher's or a student's token of its
// room: groups and roles land in the claims the stream reads by default; a malformed
// list is refused; without them the token has neither claim.
func TestDevTokenGroupsAndRoles(t *testing.T) {
	const secret = "room-secret"
	h := devTokenHandler(secret, "student-1")
	claimsOf := func(query string) (int, jwt.MapClaims) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/demo/dev-token?"+query, nil))
		if rec.Code != http.StatusOK {
			return rec.Code, nil
		}
		var body struct{ Token string }
		_ = json.NewDecoder(rec.Body).Decode(&body)
		c := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(body.Token, c, func(*jwt.Token) (any, error) { return []byte(secret), nil }); err != nil {
			t.Fatal(err)
		}
		return rec.Code, c
	}
	_, c := claimsOf("user=ms-c&groups=class-a,class-b&roles=teacher")
	if got, _ := json.Marshal([]any{c["sub"], c["groups"], c["roles"]}); string(got) != `["ms-c",["class-a","class-b"],["teacher"]]` {
		t.Errorf("teacher token claims: %s", got)
	}
	_, c = claimsOf("user=kim")
	if _, ok := c["groups"]; ok {
		t.Errorf("plain token has groups: %v", c)
	}
	if _, ok := c["roles"]; ok {
		t.Errorf("plain token has roles: %v", c)
	}
	for _, q := range []string{"groups=a,,b", "roles=te%20acher", "groups=" + strings.Repeat("x", 129)} {
		if code, _ := claimsOf(q); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}

// The banner offers the room page as a teacher and as a student, with a token of each.
func TestRoomBannerOffersTeacherAndStudent(t *testing.T) {
	var out bytes.Buffer
	if err := printRoomBanner(&out, "s", "8080", "student-1"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"room.html?room=demo-class&user=teacher-1&role=teacher", "room.html?room=demo-class&user=student-1",
		"export TEACHER_TOKEN=ey", "export STUDENT_TOKEN=ey"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
}
