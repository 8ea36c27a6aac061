package broker

import (
	"testing"
	"time"
)

// TestQuietHoursActive covers ordinary days, a window crossing midnight and the two
// nights of 2026 when Berlin's clocks move (29 March: 02:00 CET → 03:00 CEST; 25
// October: 03:00 CEST → 02:00 CET). Times are given in UTC, as the worker sees them.
func TestQuietHoursActive(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	night := QuietHours{Start: "21:00", End: "07:00", TimeZone: "Europe/Berlin"}
	for _, tc := range []struct {
		name   string
		q      QuietHours
		now    string
		active bool
		end    string
	}{
		{"evening before a winter night", night, "2026-01-10T19:59:00Z", false, ""},
		{"start of a winter night", night, "2026-01-10T20:00:00Z", true, "2026-01-11T06:00:00Z"},
		{"after midnight", night, "2026-01-11T02:00:00Z", true, "2026-01-11T06:00:00Z"},
		{"end of the window is outside it", night, "2026-01-11T06:00:00Z", false, ""},
		{"summer night (CEST)", night, "2026-07-01T22:00:00Z", true, "2026-07-02T05:00:00Z"},
		// 29 March 2026: 21:00 CET = 20:00Z, 07:00 CEST = 05:00Z, a 9-hour night.
		{"spring forward: evening", night, "2026-03-28T20:00:00Z", true, "2026-03-29T05:00:00Z"},
		{"spring forward: just after the change", night, "2026-03-29T01:00:00Z", true, "2026-03-29T05:00:00Z"},
		{"spring forward: 07:00 CEST is over", night, "2026-03-29T05:00:00Z", false, ""},
		{"spring forward: 06:30 CEST still quiet", night, "2026-03-29T04:30:00Z", true, "2026-03-29T05:00:00Z"},
		// 25 October 2026: 21:00 CEST = 19:00Z, 07:00 CET = 06:00Z, an 11-hour night.
		{"fall back: evening", night, "2026-10-24T19:00:00Z", true, "2026-10-25T06:00:00Z"},
		{"fall back: first 02:30", night, "2026-10-25T00:30:00Z", true, "2026-10-25T06:00:00Z"},
		{"fall back: second 02:30", night, "2026-10-25T01:30:00Z", true, "2026-10-25T06:00:00Z"},
		{"fall back: 06:30 CET (05:30Z) still quiet", night, "2026-10-25T05:30:00Z", true, "2026-10-25T06:00:00Z"},
		{"fall back: 07:00 CET is over", night, "2026-10-25T06:00:00Z", false, ""},
		// An end in the skipped hour: 02:30 does not exist on 29 March; the window
		// ends when the clocks spring, 03:00 CEST = 01:00Z.
		{"end in the skipped hour", QuietHours{Start: "01:00", End: "02:30", TimeZone: "Europe/Berlin"},
			"2026-03-29T00:15:00Z", true, "2026-03-29T01:00:00Z"},
		// An end in the repeated hour: the first 02:30 (CEST, 00:30Z) ends the window.
		{"end in the repeated hour", QuietHours{Start: "01:00", End: "02:30", TimeZone: "Europe/Berlin"},
			"2026-10-25T00:10:00Z", true, "2026-10-25T00:30:00Z"},
		{"daytime window", QuietHours{Start: "09:00", End: "17:30", TimeZone: "America/New_York"},
			"2026-01-10T14:00:00Z", true, "2026-01-10T22:30:00Z"},
		{"invalid zone is never active", QuietHours{Start: "00:00", End: "23:59", TimeZone: "Nowhere/City"},
			"2026-01-10T12:00:00Z", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			active, end := tc.q.Active(utc(tc.now))
			if active != tc.active {
				t.Fatalf("Active(%s) = %v, want %v", tc.now, active, tc.active)
			}
			if tc.active && !end.Equal(utc(tc.end)) {
				t.Errorf("window ends %s, want %s", end.UTC().Format(time.RFC3339), tc.end)
			}
		})
	}
}

// TestParsePrefsOldAndNew: documents stored before the extension (no push_muted_types,
// no quiet_hours) stay valid with the defaults; a stored zone this build no longer
// knows turns quiet hours off rather than locking the user out.
func TestParsePrefsOldAndNew(t *testing.T) {
	t.Parallel()
	old, err := ParsePrefs([]byte(`{"muted_types":["grade"],"push":false}`))
	if err != nil || old.Push || len(old.MutedTypes) != 1 || old.PushMutedTypes == nil || len(old.PushMutedTypes) != 0 || old.QuietHours != nil {
		t.Errorf("old document: %+v, %v", old, err)
	}
	p, err := ParsePrefs([]byte(`{"muted_types":[],"push":true,"push_muted_types":["grade","Bad"],` +
		`"quiet_hours":{"start":"22:00","end":"06:30","time_zone":"Asia/Tokyo"}}`))
	if err != nil || len(p.PushMutedTypes) != 1 || p.QuietHours == nil || p.QuietHours.TimeZone != "Asia/Tokyo" {
		t.Errorf("new document: %+v, %v", p, err)
	}
	gone, err := ParsePrefs([]byte(`{"muted_types":[],"push":true,"quiet_hours":{"start":"22:00","end":"06:30","time_zone":"Mars/Olympus"}}`))
	if err != nil || gone.QuietHours != nil {
		t.Errorf("unknown stored zone: %+v, %v", gone, err)
	}
}
