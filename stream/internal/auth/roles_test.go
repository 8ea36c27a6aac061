package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRolesClaim(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour).Unix()
	cases := []struct {
		name    string
		opts    Options
		claims  jwt.MapClaims
		teacher bool
	}{
		{"default claim, listed", Options{}, jwt.MapClaims{"roles": []any{"student", "teacher"}}, true},
		{"default claim, one string", Options{}, jwt.MapClaims{"roles": "teacher"}, true},
		{"default claim, absent", Options{}, jwt.MapClaims{}, false},
		{"default claim, not listed", Options{}, jwt.MapClaims{"roles": []any{"student"}}, false},
		{"malformed claim grants nothing", Options{}, jwt.MapClaims{"roles": map[string]any{"teacher": true}}, false},
		{"case matters", Options{}, jwt.MapClaims{"roles": []any{"Teacher"}}, false},
		{"custom claim", Options{RolesClaim: "https://vividly/roles"}, jwt.MapClaims{"https://vividly/roles": []any{"teacher"}, "roles": []any{}}, true},
		{"custom claim ignores the default one", Options{RolesClaim: "r"}, jwt.MapClaims{"roles": []any{"teacher"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Secret = secret
			v, err := NewVerifier(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.claims["sub"], tc.claims["exp"] = "u-1", exp
			id, err := v.Verify(sign(t, tc.claims))
			if err != nil || id.Teacher != tc.teacher {
				t.Fatalf("Verify = %+v, %v; want teacher=%v", id, err, tc.teacher)
			}
		})
	}
}
