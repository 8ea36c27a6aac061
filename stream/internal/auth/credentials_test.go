package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	jwtish := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig"
	for _, tc := range []struct {
		name   string
		query  string
		header string
		cookie string
		kind   Kind
		want   error
	}{
		{"bearer", "", "Bearer abc", "", Bearer, nil},
		{"ticket", "?ticket=T", "", "", Ticket, nil},
		{"cookie", "", "", "C", Cookie, nil},
		{"bearer wins over ticket and cookie", "?ticket=T", "Bearer abc", "C", Bearer, nil},
		{"ticket wins over cookie", "?ticket=T", "", "C", Ticket, nil},
		{"nothing", "", "", "", 0, ErrMissing},
		{"token param", "?token=" + jwtish, "", "", 0, ErrTokenInURL},
		{"access_token param with bearer", "?access_token=x", "Bearer abc", "", 0, ErrTokenInURL},
		{"mixed-case param", "?Access_Token=x", "", "", 0, ErrTokenInURL},
		{"jwt as ticket", "?ticket=" + jwtish, "", "", 0, ErrTokenInURL},
		{"two tickets", "?ticket=a&ticket=b", "", "", 0, ErrInvalid},
		{"empty ticket", "?ticket=", "", "", 0, ErrInvalid},
		{"bad scheme", "", "Basic abc", "", 0, ErrInvalid},
		{"oversized bearer", "", "Bearer " + strings.Repeat("a", MaxTokenBytes+1), "", 0, ErrTooLarge},
		{"oversized cookie", "", "", strings.Repeat("a", MaxTokenBytes+1), 0, ErrTooLarge},
		{"bearer at the cap", "", "Bearer " + strings.Repeat("a", MaxTokenBytes), "", Bearer, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/s"+tc.query, nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "sess", Value: tc.cookie})
			}
			c, err := Extract(r, "sess")
			if !errors.Is(err, tc.want) || (tc.want == nil && c.Kind != tc.kind) {
				t.Fatalf("Extract = %+v, %v; want kind %d, %v", c, err, tc.kind, tc.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/s", nil)
	r.AddCookie(&http.Cookie{Name: "sess", Value: "C"})
	if _, err := Extract(r, ""); !errors.Is(err, ErrMissing) {
		t.Fatalf("cookie accepted with cookies disabled: %v", err)
	}
}

// FuzzExtract: whatever the query, header and cookie hold, Extract either fails with
// ErrInvalid/ErrMissing or returns a credential from the expected source, never a JWT
// taken from the URL.
func FuzzExtract(f *testing.F) {
	f.Add("ticket=abc", "Bearer x", "c")
	f.Add("token=a.b.c", "", "")
	f.Add("ticket=a.b.c&ticket=d", "", "")
	f.Add("TICKET=x", "bearer  y", "")
	f.Add("%zz", "", "a=b; sess=x")
	f.Fuzz(func(t *testing.T, query, authz, cookie string) {
		r := httptest.NewRequest(http.MethodGet, "/s", nil)
		r.URL.RawQuery = query
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}
		c, err := Extract(r, "sess")
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrMissing) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		q, _ := url.ParseQuery(query)
		switch c.Kind {
		case Bearer:
			if authz == "" || strings.ContainsAny(c.Value, " \t") || c.Value == "" {
				t.Fatalf("bearer %q from header %q", c.Value, authz)
			}
		case Ticket:
			if authz != "" || strings.Count(c.Value, ".") == 2 || len(q["ticket"]) != 1 {
				t.Fatalf("ticket %q from query %q", c.Value, query)
			}
		case Cookie:
			if authz != "" || len(q["ticket"]) > 0 || c.Value == "" {
				t.Fatalf("cookie %q chosen over other credentials", c.Value)
			}
		default:
			t.Fatalf("no kind: %+v", c)
		}
	})
}
