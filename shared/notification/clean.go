package notification

import (
	"iter"
	"log/slog"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fix is the set of changes Clean made to one field. The zero value means none.
type Fix uint8

// The changes Clean makes.
const (
	// FixControl: control characters (C0 incl. tab, CR and LF; DEL; C1; U+2028 and
	// U+2029) became spaces, one space per run.
	FixControl Fix = 1 << iota
	// FixInvalidUTF8: bytes that are not UTF-8 became U+FFFD.
	FixInvalidUTF8
	// FixTruncated: the text was over its limit and was cut at a character boundary,
	// with "…" appended.
	FixTruncated
	// FixTrimmed: whitespace around video_url was removed.
	FixTrimmed
	// FixMissing: a field the notification should carry is absent (request_id; the
	// video_url of a completed job).
	FixMissing
	// FixBadURL: video_url is not an absolute https URL; it was dropped.
	FixBadURL
)

var fixNames = [...]string{"control", "invalid_utf8", "truncated", "trimmed", "missing", "bad_url"}

// String lists the changes, comma-separated ("control,truncated").
func (f Fix) String() string {
	var names []string
	for i, name := range fixNames {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}

// Cleaned records what Clean changed, field by field. The zero value means nothing.
type Cleaned struct {
	RequestID, Title, Error, VideoURL Fix
}

// Any reports whether Clean changed or dropped anything.
func (c Cleaned) Any() bool { return c != Cleaned{} }

// LinkDropped reports whether a completed job is delivered without a link: its
// video_url was missing or not an absolute https URL.
func (c Cleaned) LinkDropped() bool { return c.VideoURL&(FixMissing|FixBadURL) != 0 }

// All yields each changed field's JSON name and its changes, in a fixed order.
func (c Cleaned) All() iter.Seq2[string, Fix] {
	return func(yield func(string, Fix) bool) {
		for _, f := range [...]struct {
			name string
			fix  Fix
		}{{"request_id", c.RequestID}, {"title", c.Title}, {"error", c.Error}, {"video_url", c.VideoURL}} {
			if f.fix != 0 && !yield(f.name, f.fix) {
				return
			}
		}
	}
}

// LogValue implements slog.LogValuer: a group of field → changes, never the values.
func (c Cleaned) LogValue() slog.Value {
	var attrs []slog.Attr
	for name, fix := range c.All() {
		attrs = append(attrs, slog.String(name, fix.String()))
	}
	return slog.GroupValue(attrs...)
}

// Clean returns j with every field the notification shows made safe to show, and what
// it changed. Display fields are never a reason to refuse a job (the student must still
// learn the outcome), so Clean repairs instead of rejecting:
//
//   - request_id (128), title (300) and error (500) are text: invalid UTF-8 becomes
//     U+FFFD; each run of control characters becomes one space; spaces around the text
//     are trimmed; text over its limit is cut at a character boundary, not inside a
//     combining sequence when one ends nearby, and ends with "…", so the result holds at
//     most the limit. Limits count Unicode code points (runes), the unit JavaScript's
//     and Go's string tools can both count; a byte limit would cut non-Latin titles
//     short, and grapheme clusters need tables that neither the function nor the
//     browser should depend on.
//   - video_url of a completed job is kept only if it is an absolute https URL of at
//     most 2048 bytes, without credentials, spaces, backslashes or control characters
//     (surrounding whitespace is trimmed first); otherwise it is dropped and the job
//     is delivered without a link.
//   - A missing request_id is reported (FixMissing) but delivered empty.
//   - Fields the status does not use (error of a completed job, video_url of a failed
//     one) are cleared.
//
// Clean is idempotent: cleaning a cleaned job changes nothing (only FixMissing is
// reported again). It does not check user_id or status: that is Validate's job.
func (j Job) Clean() (Job, Cleaned) {
	var c Cleaned
	out := Job{UserID: j.UserID, Status: j.Status}
	out.RequestID, c.RequestID = cleanText(j.RequestID, MaxRequestIDLen)
	if out.RequestID == "" {
		c.RequestID |= FixMissing
	}
	out.Title, c.Title = cleanText(j.Title, MaxTitleLen)
	switch j.Status {
	case StatusCompleted:
		out.VideoURL, c.VideoURL = cleanURL(j.VideoURL)
	case StatusFailed:
		out.Error, c.Error = cleanText(j.Error, MaxErrorLen)
	}
	return out, c
}

// isControl reports whether r would break a line or is invisible control: C0 (tab, CR
// and LF included), DEL, C1 (NEL included), and the line and paragraph separators that
// JavaScript treats as line ends.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// cleanText makes s one line of valid UTF-8 of at most limit runes (limit ≥ 1).
func cleanText(s string, limit int) (string, Fix) {
	var fix Fix
	if needsReplacing(s) {
		var b strings.Builder
		b.Grow(len(s))
		inRun := false
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			i += w
			switch {
			case r == utf8.RuneError && w == 1:
				fix |= FixInvalidUTF8
				b.WriteRune(utf8.RuneError)
				inRun = false
			case isControl(r):
				fix |= FixControl
				if !inRun {
					b.WriteByte(' ')
				}
				inRun = true
			default:
				b.WriteRune(r)
				inRun = false
			}
		}
		s = b.String()
	}
	s = strings.Trim(s, " ")
	if utf8.RuneCountInString(s) > limit {
		fix |= FixTruncated
		s = strings.TrimRight(cut(s, limit-1), " ") + "…"
	}
	return s, fix
}

// needsReplacing reports whether s holds invalid UTF-8 or a control character.
func needsReplacing(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 || isControl(r) {
			return true
		}
		i += w
	}
	return false
}

// maxBackoff bounds how far cut moves back to keep a combining sequence whole. Past it
// (a pile of combining marks), cut splits the sequence: the limit always wins.
const maxBackoff = 16

// cut returns the first keep runes of s (s has more than keep runes), moved back by up
// to maxBackoff runes so as not to split a base character from its combining marks, an
// emoji from its modifiers or ZWJ sequence, or a flag's two regional indicators.
func cut(s string, keep int) string {
	end := 0
	for range keep {
		_, w := utf8.DecodeRuneInString(s[end:])
		end += w
	}
	for i, at := 0, end; i <= maxBackoff; i++ {
		if at == 0 || !joined(s[:at], s[at:]) {
			return s[:at]
		}
		_, w := utf8.DecodeLastRuneInString(s[:at])
		at -= w
	}
	return s[:end]
}

// joined reports whether the last rune of before and the first rune of after belong to
// one user-perceived character.
func joined(before, after string) bool {
	prev, _ := utf8.DecodeLastRuneInString(before)
	next, _ := utf8.DecodeRuneInString(after)
	switch {
	case unicode.Is(unicode.M, next), // combining, enclosing and spacing marks
		next == '\u200d', prev == '\u200d', // zero-width joiner
		next >= 0xfe00 && next <= 0xfe0f, next >= 0xe0100 && next <= 0xe01ef, // variation selectors
		next >= 0x1f3fb && next <= 0x1f3ff, // emoji skin-tone modifiers
		next >= 0xe0020 && next <= 0xe007f: // emoji tag sequences (subdivision flags)
		return true
	case isRegionalIndicator(prev) && isRegionalIndicator(next):
		// Indicators pair up from the start of a run: prev opens a pair when an odd
		// number of indicators ends at it.
		n := 0
		for len(before) > 0 {
			r, w := utf8.DecodeLastRuneInString(before)
			if !isRegionalIndicator(r) {
				break
			}
			n++
			before = before[:len(before)-w]
		}
		return n%2 == 1
	}
	return false
}

func isRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// cleanURL keeps s if, trimmed, it is a link a browser may follow from a notification.
func cleanURL(s string) (string, Fix) {
	var fix Fix
	t := strings.Trim(s, " \t\r\n")
	if t != s {
		fix |= FixTrimmed
	}
	switch {
	case t == "":
		return "", fix | FixMissing
	case !validVideoURL(t):
		return "", fix | FixBadURL
	}
	return t, fix
}

// validVideoURL reports whether s is an absolute https URL with a host, no
// credentials, and nothing that could break out of an attribute or a line.
func validVideoURL(s string) bool {
	if len(s) > MaxURLLen || needsReplacing(s) || strings.ContainsAny(s, " \\") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Opaque == "" && u.Hostname() != "" && u.User == nil
}

// CleanText makes s one line of valid UTF-8 of at most limit runes, as titles are
// cleaned (room messages use it).
func CleanText(s string, limit int) string {
	out, _ := cleanText(s, limit)
	return out
}
