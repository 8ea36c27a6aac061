package faults

import (
	"fmt"
	"strings"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// ownLog is how the checker names a user's own log: its notification ids are plain log
// positions ("1764174645123-0"); the ids of a group's or the broadcast log carry the
// log's name ("@class-7b:1764174645123-0", "!all:1764174645123-0").
const ownLog = ""

// logOf splits a notification id into its log and its position in it. The checker
// parses ids itself rather than with the code under test.
func logOf(id string) (log string, pos rediskey.StreamID, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i >= 0 {
		log = id[:i]
		if log == "" || (log[0] != '@' && log != "!all") {
			return "", pos, false
		}
	}
	pos, err := rediskey.ParseStreamID(id[i+1:])
	return log, pos, err == nil
}

// tabAudit is what the checker found in one tab's arrivals.
type tabAudit struct {
	wanted   map[string]int // by kind (kindOf): notifications of the tab's audience published
	received int            // notification frames, duplicates and strays included
	lost, duplicated, foreign,
	// outOfOrder: an id not after the previous one of its own log (creation order
	// within a log is position order).
	outOfOrder,
	// crossOrder: an id created in an earlier millisecond than one of another log the
	// tab already received (positions of different logs compare by the Redis clock;
	// within one millisecond their order is undefined, so only whole milliseconds count).
	crossOrder int
	problems []string // the first few, for the log
}

// audit checks one tab's notification ids, in arrival order, against want: for each log
// of the tab's audience (ownLog, "!all", "@<group>"), the ids published to it in
// creation order. Every wanted id must arrive exactly once, nothing else may arrive,
// and each log's ids must arrive in increasing position.
func audit(got []string, want map[string][]string) tabAudit {
	a := tabAudit{wanted: map[string]int{}, received: len(got)}
	logOfWanted := map[string]string{}
	for log, ids := range want {
		a.wanted[kindOf(log)] += len(ids)
		for _, id := range ids {
			logOfWanted[id] = log
		}
	}
	note := func(format string, args ...any) {
		if len(a.problems) < 5 {
			a.problems = append(a.problems, fmt.Sprintf(format, args...))
		}
	}
	seen := map[string]bool{}
	last := map[string]rediskey.StreamID{} // each log's newest position received
	newestMs := map[string]uint64{}        // each log's newest millisecond received
	for i, id := range got {
		log, pos, ok := logOf(id)
		if wl, wanted := logOfWanted[id]; !ok || !wanted || wl != log {
			a.foreign++
			note("#%d %q is not of this tab's audience", i, id)
			continue
		}
		if seen[id] {
			a.duplicated++
			note("#%d %q again", i, id)
			continue
		}
		seen[id] = true
		if prev, ok := last[log]; ok && pos.Compare(prev) <= 0 {
			a.outOfOrder++
			note("#%d %q after %s of the same log", i, id, prev)
		} else {
			last[log] = pos
		}
		for other, ms := range newestMs {
			if other != log && ms > pos.Ms {
				a.crossOrder++
				note("#%d %q after an id of %q from ms %d", i, id, other, ms)
				break
			}
		}
		newestMs[log] = max(newestMs[log], pos.Ms)
	}
	for log, ids := range want {
		for _, id := range ids {
			if !seen[id] {
				a.lost++
				note("lost %q (of %q)", id, log)
			}
		}
	}
	return a
}

// failed reports whether a breaks a guarantee the faults assert.
func (a tabAudit) failed() bool {
	return a.lost > 0 || a.duplicated > 0 || a.foreign > 0 || a.outOfOrder > 0 || a.crossOrder > 0
}
