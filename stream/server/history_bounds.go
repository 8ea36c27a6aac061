package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// How much one history request or replay may read (issue 23 #4). A user's page merges
// up to 12 logs (own, broadcast, 10 groups); reading a full page from each for one
// page of results let 20 concurrent limit=200 requests of one user allocate ~400 MB.

// minLogPage is the smallest read of one log: small enough that 12 logs cost little,
// large enough that a log holding the whole page is read in few round trips.
const minLogPage = 16

// maxHistoryInFlight is how many history requests of one user run at once on an
// instance; more answer 429. A page of the app's list needs one, a tab opening two.
const maxHistoryInFlight = 4

// perLogPage is how many entries to read from each of logs logs at a time for a page of
// limit results: twice an even share, at least minLogPage, at most limit. A log holding
// more of the page is read on, a page at a time (backlog, latestMerge).
func perLogPage(limit, logs int) int {
	if logs < 1 {
		logs = 1
	}
	return min(limit, max(minLogPage, 2*((limit+logs-1)/logs)))
}

// inFlight counts requests per user (history's cap).
type inFlight struct {
	mu sync.Mutex
	n  map[string]int
}

// enter takes one of user's max slots; false when all are taken. leave gives it back.
func (f *inFlight) enter(user string, max int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	if f.n[user] >= max {
		return false
	}
	f.n[user]++
	return true
}

func (f *inFlight) leave(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[user]--; f.n[user] <= 0 {
		delete(f.n, user)
	}
}

// latestMerge returns the newest limit live notifications of sources, oldest first,
// reading each log from its newest entry perLogPage at a time, and a log again (twice
// as many) only while its oldest entry read could still be among the newest limit.
// It reads what the page needs, not limit from every log.
func (s *Server) latestMerge(ctx context.Context, sources []string, keyOf func(string) string, limit int) ([]notification.Envelope, cursor.Cursor, error) {
	return s.newestMerge(ctx, sources, keyOf, limit, func(ctx context.Context, source string, n int) ([]notification.Envelope, error) {
		return s.broker.Latest(ctx, source, n)
	})
}

// newestMerge is latestMerge over what fetch returns: the newest n entries of a
// source's log (or of the part of it before= names; history_before.go).
func (s *Server) newestMerge(ctx context.Context, sources []string, keyOf func(string) string, limit int,
	fetch func(ctx context.Context, source string, n int) ([]notification.Envelope, error)) ([]notification.Envelope, cursor.Cursor, error) {
	type logRead struct {
		n     int                     // entries asked for
		items []notification.Envelope // the newest n, oldest first
		done  bool                    // fewer than asked: the whole log is read
	}
	reads := make([]logRead, len(sources))
	first := perLogPage(limit, len(sources))
	for i := range reads {
		reads[i].n = first
	}
	now := time.Now()
	position := func(e notification.Envelope) rediskey.StreamID { p, _ := positionOf(e.ID); return p }
	for {
		var all []notification.Envelope
		for i, source := range sources {
			r := &reads[i]
			if r.items == nil && !r.done {
				items, err := fetch(ctx, source, r.n)
				if err != nil {
					return nil, nil, err
				}
				r.items, r.done = items, len(items) < r.n
				if r.items == nil {
					r.items = []notification.Envelope{}
				}
			}
			all = append(all, r.items...)
		}
		// Stable: equal positions keep the order of sources, as a stream's merge does.
		slices.SortStableFunc(all, func(a, b notification.Envelope) int { return position(a).Compare(position(b)) })
		all = slices.DeleteFunc(all, func(e notification.Envelope) bool { return e.Expired(now) })
		var cutoff rediskey.StreamID // the oldest position on the page, when it is full
		if len(all) >= limit {
			cutoff = position(all[len(all)-limit])
		}
		more := false
		for i := range reads {
			r := &reads[i]
			// A log read in part whose oldest entry read is on the page (or the page is
			// not full) may hold older entries that belong on it.
			if r.done || r.n >= limit {
				continue
			}
			if len(all) < limit || len(r.items) > 0 && position(r.items[0]).Compare(cutoff) >= 0 {
				r.n, r.items, more = min(limit, 2*r.n), nil, true
			}
		}
		if !more {
			pos := make(cursor.Cursor, len(sources))
			for i, source := range sources {
				pos[keyOf(source)] = rediskey.Zero
				if items := reads[i].items; len(items) > 0 {
					pos[keyOf(source)] = position(items[len(items)-1])
				}
			}
			return all[max(0, len(all)-limit):], pos, nil
		}
	}
}
