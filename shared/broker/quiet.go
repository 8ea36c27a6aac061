package broker

import (
	"fmt"
	"time"
)

// QuietHours is a daily window, in the user's own time zone, during which pushes are
// held (docs/PROTOCOL.md "Preferences"): Start and End are wall-clock "HH:MM" times,
// TimeZone an IANA name (Europe/Berlin). A window whose End is not after its Start
// crosses midnight (21:00–07:00). The in-app stream is unaffected.
type QuietHours struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	TimeZone string `json:"time_zone"`
}

// MaxTimeZoneLen bounds a time zone name; the longest IANA name is about 30 bytes.
const MaxTimeZoneLen = 64

// clock parses "HH:MM" (two digits each, 00:00–23:59) into minutes after midnight.
func clock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	d := func(c byte) (int, bool) { return int(c - '0'), c >= '0' && c <= '9' }
	h1, ok1 := d(s[0])
	h2, ok2 := d(s[1])
	m1, ok3 := d(s[3])
	m2, ok4 := d(s[4])
	h, m := h1*10+h2, m1*10+m2
	if !ok1 || !ok2 || !ok3 || !ok4 || h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// Validate checks q: HH:MM times that differ (an empty window would be a silent
// no-op; send null instead) and a time zone time.LoadLocation knows. "Local" is
// refused: it names the server's zone, not the user's. Errors wrap ErrInvalid.
func (q QuietHours) Validate() error {
	s, ok1 := clock(q.Start)
	e, ok2 := clock(q.End)
	switch {
	case !ok1 || !ok2:
		return fmt.Errorf("%w: quiet_hours start and end must be HH:MM (00:00-23:59)", ErrInvalid)
	case s == e:
		return fmt.Errorf("%w: quiet_hours start and end must differ (null turns quiet hours off)", ErrInvalid)
	case q.TimeZone == "" || q.TimeZone == "Local" || len(q.TimeZone) > MaxTimeZoneLen:
		return fmt.Errorf("%w: quiet_hours time_zone must be an IANA time zone name", ErrInvalid)
	}
	if _, err := time.LoadLocation(q.TimeZone); err != nil {
		return fmt.Errorf("%w: quiet_hours time_zone is not a known IANA time zone name", ErrInvalid)
	}
	return nil
}

// Active reports whether now falls in the window and, if so, when the window ends:
// the first instant after now at which the user's wall clock reads End or later. On a
// night the clocks move that is still End on the wall clock (07:00 CEST after the
// March change, 07:00 CET after October's), not a fixed number of hours; an End that
// falls in the skipped hour (02:30 on the last Sunday of March in Berlin) ends the
// window at the change itself, and an End in the repeated hour at its first
// occurrence. An invalid q is never active.
func (q QuietHours) Active(now time.Time) (bool, time.Time) {
	start, ok1 := clock(q.Start)
	end, ok2 := clock(q.End)
	loc, err := time.LoadLocation(q.TimeZone)
	if !ok1 || !ok2 || start == end || err != nil || q.TimeZone == "Local" {
		return false, time.Time{}
	}
	local := now.In(loc)
	m := local.Hour()*60 + local.Minute()
	var in bool
	if start < end {
		in = m >= start && m < end
	} else {
		in = m >= start || m < end
	}
	if !in {
		return false, time.Time{}
	}
	y, mo, d := local.Date()
	if m >= end { // before midnight: the window ends tomorrow
		d++
	}
	return true, wallClock(y, mo, d, end, loc, now)
}

// wallClock returns the first instant after after at which the wall clock in loc on
// the given date reads minute-of-day min or later.
func wallClock(y int, mo time.Month, d, minute int, loc *time.Location, after time.Time) time.Time {
	t := time.Date(y, mo, d, minute/60, minute%60, 0, 0, loc)
	l := t.In(loc)
	if l.Hour()*60+l.Minute() != minute {
		// The time does not exist that day (clocks sprang over it): the window ends when
		// they sprang, the start of the zone period t landed in, or the end of the
		// period before it.
		zs, ze := t.ZoneBounds()
		if l.Hour()*60+l.Minute() > minute {
			t = zs
		} else {
			t = ze
		}
		return t
	}
	// The time may exist twice (clocks fell back): take the earlier one still after now.
	for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		if e := t.Add(-back); e.After(after) {
			if le := e.In(loc); le.Hour()*60+le.Minute() == minute && le.Day() == l.Day() {
				return e
			}
		}
	}
	return t
}
