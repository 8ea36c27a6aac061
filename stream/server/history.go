package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// badCursor answers a history after that no page can follow.
const badCursor = "after must be a notification id like 1764174645123-0"

// History page sizes (DESIGN.md).
const (
	defaultHistoryLimit = 50
	maxHistoryLimit     = 200
)

// history serves GET /api/v1/notifications?after=<id>&limit=<n>: the caller's own log,
// oldest first. Without after, the newest limit items; with after, up to limit items
// strictly after it. next is the last item's id (pass it as after), or "" when empty.
// Each item carries "read"; unread counts the unread items of the whole log.
//
// It runs under api (admission and the Bearer JWT). An after that is no cursor —
// malformed, or the largest id, which nothing follows — is 400, never a store error.
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
	var items []notification.Envelope
	var err error
	if q.Has("after") {
		after := q.Get("after")
		if _, err := broker.ParseCursor(after); err != nil {
			writeError(w, http.StatusBadRequest, badCursor, 0)
			return
		}
		items, err = s.broker.Range(ctx, id.UserID, after, limit)
	} else {
		items, err = s.broker.Latest(ctx, id.UserID, limit)
	}
	if errors.Is(err, rediskey.ErrBadStreamID) { // the broker's own check, should the one above miss a case
		writeError(w, http.StatusBadRequest, badCursor, 0)
		return
	}
	if err != nil {
		s.unavailable(ctx, w, id.UserID, "history", err)
		return
	}
	var read []bool
	unread := 0
	// An empty newest page is an empty log: nothing unread, and one round trip saved.
	if len(items) > 0 || q.Has("after") {
		ids := make([]string, len(items))
		for i, e := range items {
			ids[i] = e.ID
		}
		if read, unread, err = s.broker.ReadState(ctx, id.UserID, ids); err != nil {
			s.unavailable(ctx, w, id.UserID, "read state", err)
			return
		}
	}
	writeHistory(w, items, read, unread)
}

// writeHistory answers {"notifications":[…],"next":"…","unread":n} with the stored JSON
// verbatim, each item with its "read" flag added (read.go).
func writeHistory(w http.ResponseWriter, items []notification.Envelope, read []bool, unread int) {
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
	next := ""
	if len(items) > 0 {
		next = items[len(items)-1].ID
	}
	out = append(append(append(out, `],"next":"`...), next...), `","unread":`...)
	out = append(strconv.AppendInt(out, int64(unread), 10), '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(out, '\n'))
}
