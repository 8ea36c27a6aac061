package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// badCursor answers a history after that no page can follow.
const badCursor = "after must be a next value from this endpoint or an SSE id"

// errHistoryBusy refuses a user's history request over maxHistoryInFlight.
var errHistoryBusy = &apiError{status: http.StatusTooManyRequests, reason: "history_busy",
	msg: "too many history requests of this user at once", retryAfter: 1}

// History page sizes (docs/PROTOCOL.md "Endpoints").
const (
	defaultHistoryLimit = 50
	maxHistoryLimit     = 200
)

// history answers GET /api/v1/notifications: the user's own, group and broadcast
// notifications together, oldest first — the newest limit, or up to limit after the
// cursor in after — with read state. next is the cursor after the last item listed
// (empty when nothing is listed); as a stream's Last-Event-ID it resumes exactly there.
// Expired notifications are not listed (the cursor moves past them).
func (s *Server) history(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	ctx := r.Context()
	q := r.URL.Query()
	limit := defaultHistoryLimit
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			return badRequest("limit must be a whole number from 1 to 200")
		}
		limit = n
	}
	if !s.historyBusy.enter(id.UserID, maxHistoryInFlight) {
		return errHistoryBusy
	}
	defer s.historyBusy.leave(id.UserID)
	filter, ferr := parseHistoryFilter(q)
	if ferr != nil {
		return badRequest(ferr.Error())
	}
	sources := streamSources(id)
	keyOf := func(source string) string { return cursorKey(id.UserID, source) }
	var items []notification.Envelope
	var page filtered
	var next, bound cursor.Cursor
	var err error
	if q.Has("after") && q.Has("before") {
		return badRequest("give after or before, not both")
	}
	if q.Has("before") {
		var perr error
		if bound, perr = cursor.Parse(q.Get("before")); perr != nil {
			return badRequest("before must be a prev value from this endpoint")
		}
		items, err = s.olderMerge(ctx, sources, keyOf, limit, bound)
	} else if q.Has("after") {
		given, perr := cursor.Parse(q.Get("after"))
		if perr != nil {
			return badRequest(badCursor)
		}
		if next, err = s.positions(ctx, sources, given, keyOf); err == nil {
			page, next, err = s.listFiltered(ctx, id.UserID, sources, next, keyOf, limit, filter)
		}
	} else {
		items, next, err = s.latestMerge(ctx, sources, keyOf, limit)
	}
	// A position no page can follow (the largest id) came from the client's cursor here:
	// its mistake, not a failure of the store (errNoBefore is mapped by respond).
	if errors.Is(err, rediskey.ErrBadStreamID) {
		return badRequest(badCursor)
	}
	if err != nil {
		return failed("history", err)
	}
	if !q.Has("after") && (len(items) > 0 || q.Has("before")) { // the newest page, or a before= page
		// The newest page, filtered: it may list fewer than limit (older matches are
		// paged to with after, from the cursor of the whole page).
		st, serr := s.state(ctx, id.UserID, sources, items)
		if serr != nil {
			return failed("read state", serr)
		}
		page.add(filter, items, st)
	} else if !q.Has("after") {
		_, page.st.inbox = s.broker.(broker.Inbox) // nothing stored: all counts 0
	}
	nextText := ""
	if next != nil && (len(page.items) > 0 || len(items) > 0) {
		nextText = next.String() // none on a before= page: the stream goes forward
	}
	prev := ""
	if !q.Has("after") {
		prev = prevCursor(sources, keyOf, items, bound)
	}
	writeHistory(w, page.items, nextText, prev, page.st)
	return nil
}

// listAfter returns up to limit notifications of sources after their positions in pos,
// in creation order, and moves pos past what it listed (and the expired ones between).
func (s *Server) listAfter(ctx context.Context, sources []string, pos cursor.Cursor, keyOf func(string) string, limit int) ([]notification.Envelope, error) {
	b := newBacklog(s.broker.Range, perLogPage(limit, len(sources)), sources, pos, keyOf, nil)
	now := time.Now()
	var out []notification.Envelope
	for len(out) < limit {
		e, ok, err := b.next(ctx)
		if err != nil || !ok {
			return out, err
		}
		source, p, own, _ := broker.SplitItemID(e.ID)
		if own {
			source = cursor.Own
		}
		pos[source] = p
		if !e.Expired(now) {
			out = append(out, e)
		}
	}
	return out, nil
}

func writeHistory(w http.ResponseWriter, items []notification.Envelope, next, prev string, st pageState) {
	size := 48
	for _, e := range items {
		size += len(e.Data) + 16
	}
	out := make([]byte, 0, size)
	out = append(out, `{"notifications":[`...)
	for i, e := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendState(out, e.Data, st, i)
	}
	out = append(append(append(out, `],"next":"`...), next...), '"')
	if prev != "" {
		out = append(append(append(out, `,"prev":"`...), prev...), '"')
	}
	out = append(out, `,"unread":`...)
	out = strconv.AppendInt(out, int64(st.unread), 10)
	if st.inbox {
		out = strconv.AppendInt(append(out, `,"unseen":`...), int64(st.unseen), 10)
	}
	out = append(out, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(out, '\n'))
}
