package broker_test

import (
	"slices"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
)

func TestParsePrefsIsLenient(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		in      string
		muted   []string
		push    bool
		wantErr bool
	}{
		"empty":         {"", []string{}, true, false},
		"stored":        {`{"muted_types":["b","a"],"push":false}`, []string{"a", "b"}, false, false},
		"missing push":  {`{"muted_types":["a"]}`, []string{"a"}, true, false},
		"unknown field": {`{"muted_types":[],"push":true,"email":false}`, []string{}, true, false},
		"refused types": {`{"muted_types":["read","Bad","ok"],"push":true}`, []string{"ok"}, true, false},
		"null types":    {`{"muted_types":null,"push":false}`, []string{}, false, false},
		"not JSON":      {`{"muted_types":`, []string{}, true, true},
	} {
		p, err := broker.ParsePrefs([]byte(c.in))
		if (err != nil) != c.wantErr || !slices.Equal(p.MutedTypes, c.muted) || p.MutedTypes == nil || p.Push != c.push {
			t.Errorf("%s: ParsePrefs = %+v, %v", name, p, err)
		}
	}
}
