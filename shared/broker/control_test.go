package broker_test

import (
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
)

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
}
