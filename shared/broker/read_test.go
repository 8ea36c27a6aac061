package broker_test

import (
	"errors"
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

func TestControlPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []broker.Control{
		{Kind: broker.ControlRead, Data: broker.ReadData([]string{"1-0", "2-5"}, false)},
		{Kind: broker.ControlRead, Data: broker.ReadData(nil, true)},
		{Kind: broker.ControlPrefs, Data: []byte(`{"muted_types":[],"push":true}`)},
	} {
		payload := c.Payload()
		if !broker.IsControl(payload) {
			t.Fatalf("%s not recognised as a control", payload)
		}
		got, err := broker.ParseControl(payload)
		if err != nil || got.Kind != c.Kind || string(got.Data) != string(c.Data) {
			t.Errorf("ParseControl(%s) = %+v, %v", payload, got, err)
		}
	}
	if broker.IsControl([]byte(`{"id":"1-0","type":"video_complete"}`)) {
		t.Error("a notification taken for a control")
	}
	for _, bad := range []string{`{"ctl":"other","data":{}}`, `{"ctl":"read"}`, `{"ctl":"read","data":`} {
		if _, err := broker.ParseControl([]byte(bad)); err == nil {
			t.Errorf("ParseControl(%s) accepted", bad)
		}
	}
	if string(broker.ReadData([]string{"1-0"}, false)) != `{"ids":["1-0"]}` {
		t.Errorf("ReadData = %s", broker.ReadData([]string{"1-0"}, false))
	}
	if _, err := (broker.ReadMark{}).Validate(); !errors.Is(err, broker.ErrInvalid) {
		t.Errorf("empty mark: %v", err)
	}
}
