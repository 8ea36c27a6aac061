package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// badCursor answers a history after that no page can follow.
const badCursor = "after must be a next value from this endpoint or an SSE id"

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
func (s *Server) history(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	q := r.URL.Query()
	limit := defaultHistoryLimit
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to 200", 0)
			return
		}
		limit = n
	}
	if !s.historyBusy.enter(id.UserID, maxHistoryInFlight) {
		s.refuse(w, http.StatusTooManyRequests, "history_busy", "too many history requests of this user at once", 1)
		return
	}
	defer s.historyBusy.leave(id.UserID)
	sources := streamSources(id)
	keyOf := func(source string) string { return cursorKey(id.UserID, source) }
	var items []notification.Envelope
	var next cursor.Cursor
	var err error
	if q.Has("after") {
		given, perr := cursor.Parse(q.Get("after"))
		if perr != nil {
			writeError(w, http.StatusBadRequest, badCursor, 0)
			return
		}
		if next, err = s.positions(ctx, sources, given, keyOf); err == nil {
			items, err = s.listAfter(ctx, sources, next, keyOf, limit)
		}
	} else {
		items, next, err = s.latestMerge(ctx, sources, keyOf, limit)
	}
	if errors.Is(err, rediskey.ErrBadStreamID) { // a position no page can follow (the largest id)
		writeError(w, http.StatusBadRequest, badCursor, 0)
		return
	}
	if err != nil {
		s.unavailable(ctx, w, id.UserID, "history", err)
		return
	}
	var read []bool
	unread := 0
	if len(items) > 0 || q.Has("after") {
		ids := make([]string, len(items))
		for i, e := range items {
			ids[i] = e.ID
		}
		if read, unread, err = s.broker.ReadState(ctx, id.UserID, sources[1:], ids); err != nil {
			s.unavailable(ctx, w, id.UserID, "read state", err)
			return
		}
	}
	nextText := ""
	if len(items) > 0 {
		nextText = next.String()
	}
	writeHistory(w, items, nextText, read, unread)
}

// listAfter returns up to limit notifications of sources after their positions in pos,
// in creation order, and moves pos past what it listed (and the expired ones between).
func (s *Server) listAfter(ctx context.Context, sources []string, pos cursor.Cursor, keyOf func(string) string, limit int) ([]notification.Envelope, error) {
	rng := func(ctx context.Context, source string, after rediskey.StreamID, n int) ([]notification.Envelope, error) {
		return s.broker.Range(ctx, source, after.String(), n)
	}
	b := newBacklog(rng, perLogPage(limit, len(sources)), sources, pos, keyOf, nil)
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

func writeHistory(w http.ResponseWriter, items []notification.Envelope, next string, read []bool, unread int) {
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
		out = appendRead(out, e.Data, i < len(read) && read[i])
	}
	out = append(append(append(out, `],"next":"`...), next...), `","unread":`...)
	out = append(strconv.AppendInt(out, int64(unread), 10), '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(out, '\n'))
}
