package brokertest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
)

// prefsClauses are the contract of the extended preferences (push_muted_types,
// quiet_hours; docs/PROTOCOL.md "Preferences: push-muted types and quiet hours").
var prefsClauses = []struct {
	name string
	test func(*testing.T, Factory)
}{
	{"preferences: push_muted_types and quiet_hours round trip, validated", extendedPreferences},
}

// extendedPreferences: the new fields default to [] and null, are stored normalised
// and returned whole (also on the live control), invalid ones are refused without
// changing what is stored, and null turns quiet hours off again.
func extendedPreferences(t *testing.T, newBroker Factory) {
	f := start(t, newBroker)
	f.subscribe("quinn")
	def, err := f.b.Preferences(f.ctx, "quinn")
	if err != nil || def.PushMutedTypes == nil || len(def.PushMutedTypes) != 0 || def.QuietHours != nil {
		t.Fatalf("default preferences = %+v, %v; want push_muted_types [] and quiet_hours null", def, err)
	}
	quiet := &broker.QuietHours{Start: "21:00", End: "07:00", TimeZone: "Europe/Berlin"}
	in := broker.Prefs{MutedTypes: []string{}, Push: true, PushMutedTypes: []string{"grade", "announcement", "grade"}, QuietHours: quiet}
	want := broker.Prefs{MutedTypes: []string{}, Push: true, PushMutedTypes: []string{"announcement", "grade"},
		QuietHours: &broker.QuietHours{Start: "21:00", End: "07:00", TimeZone: "Europe/Berlin"}}
	stored, err := f.b.SetPreferences(f.ctx, "quinn", in)
	if err != nil || !reflect.DeepEqual(stored, want) {
		t.Fatalf("SetPreferences = %+v, %v; want %+v", stored, err, want)
	}
	quiet.Start = "10:00" // the broker keeps its own copy
	if got, err := f.b.Preferences(f.ctx, "quinn"); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Preferences = %+v (quiet %+v), %v; want %+v", got, got.QuietHours, err, want)
	}
	if !stored.PushMuted("grade") || !stored.PushMuted("announcement") || stored.Muted("grade") || stored.PushMuted("video_complete") {
		t.Errorf("PushMuted/Muted of %+v", stored)
	}
	ctl := f.rec.WaitForControls(t, "quinn", 1)[0]
	var carried broker.Prefs
	if err := json.Unmarshal(ctl.Data, &carried); err != nil || !reflect.DeepEqual(carried, want) {
		t.Errorf("control %s, want prefs %+v", ctl.Data, want)
	}
	for name, q := range map[string]broker.QuietHours{
		"unknown zone": {Start: "21:00", End: "07:00", TimeZone: "Europe/Atlantis"},
		"no zone":      {Start: "21:00", End: "07:00"},
		"local zone":   {Start: "21:00", End: "07:00", TimeZone: "Local"},
		"hour 24":      {Start: "24:00", End: "07:00", TimeZone: "UTC"},
		"one digit":    {Start: "9:00", End: "07:00", TimeZone: "UTC"},
		"seconds":      {Start: "21:00:00", End: "07:00", TimeZone: "UTC"},
		"empty window": {Start: "07:00", End: "07:00", TimeZone: "UTC"},
	} {
		p := want
		p.QuietHours = &q
		if _, err := f.b.SetPreferences(f.ctx, "quinn", p); !errors.Is(err, broker.ErrInvalid) {
			t.Errorf("%s: SetPreferences = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := f.b.SetPreferences(f.ctx, "quinn", broker.Prefs{Push: true, PushMutedTypes: []string{"read"}}); !errors.Is(err, broker.ErrInvalid) {
		t.Errorf("push_muted_types [read]: SetPreferences = %v, want ErrInvalid", err)
	}
	if got, _ := f.b.Preferences(f.ctx, "quinn"); !reflect.DeepEqual(got, want) {
		t.Errorf("after refused changes: %+v, want %+v", got, want)
	}
	off, err := f.b.SetPreferences(f.ctx, "quinn", broker.Prefs{Push: true})
	if err != nil || off.QuietHours != nil || off.PushMutedTypes == nil {
		t.Errorf("quiet hours off: %+v, %v", off, err)
	}
}
