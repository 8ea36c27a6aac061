package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// Privacy is what the server needs of the privacy store (redisbroker.Privacy): receipts
// and export (membership: Deps.Members). nil turns receipts and export off (501): the in-process broker of
// the local system keeps none.
type Privacy interface {
	RecordReceipts(ctx context.Context, userID string, m broker.ReadMark, read bool) error
	Receipts(ctx context.Context, itemID, after string, limit int) (redisbroker.ReceiptReport, error)
	Export(ctx context.Context, userID string, logs []string) (redisbroker.Export, error)
}

var _ Privacy = (*redisbroker.Privacy)(nil)

// defaultReceiptPage is how many readers a receipts page carries without ?limit=.
const defaultReceiptPage = 100

// recordReceipts records first seen/read times after a mark succeeded. A failure is
// logged, not answered: the mark itself is stored, and receipts are a report.
func (s *Server) recordReceipts(ctx context.Context, id auth.Identity, m broker.ReadMark, read bool) {
	if s.privacy == nil {
		return
	}
	if err := s.privacy.RecordReceipts(ctx, id.UserID, m, read); err != nil {
		s.log.WarnContext(ctx, "receipts not recorded", logging.KeyUserID, id.UserID, logging.KeyError, err.Error())
	}
}

// receipts serves GET /api/v1/receipts?notification=<id>[&after=<user>][&limit=<n>]
// (docs/PRIVACY.md): to a teacher (roles claim) whose token names the
// notification's group, who saw and read it. Anyone else 403 — checked before the id
// is looked up, so a student learns nothing of which ids exist; a group notification
// the log does not hold (or an id of no group) 404.
func (s *Server) receipts(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	if s.privacy == nil {
		return &apiError{status: http.StatusNotImplemented, msg: "this deployment keeps no receipts"}
	}
	q := r.URL.Query()
	item, after := q.Get("notification"), q.Get("after")
	limit := defaultReceiptPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > redisbroker.MaxReceiptPage {
			return badRequest("limit must be 1 to 1000")
		}
		limit = n
	}
	if item == "" || (after != "" && !notification.ValidUserID(after)) {
		return badRequest("give ?notification=<id> (and after=<user id> to page)")
	}
	if !id.Teacher {
		return &apiError{status: http.StatusForbidden, msg: "receipts are for teachers"}
	}
	group := redisbroker.GroupOf(item)
	if group == "" {
		return redisbroker.ErrNoGroupNotification // 404, as for one the log lacks
	}
	if !slices.Contains(id.Groups, group) {
		return &apiError{status: http.StatusForbidden, msg: "not a member of that group"}
	}
	rep, err := s.privacy.Receipts(r.Context(), item, after, limit)
	if err != nil {
		return failed("receipts", err) // redisbroker.ErrNoGroupNotification: 404
	}
	type reader struct {
		User   string  `json:"user"`
		SeenAt *string `json:"seen_at"`
		ReadAt *string `json:"read_at"`
	}
	out := struct {
		Audience int      `json:"audience"`
		Seen     int      `json:"seen"`
		Read     int      `json:"read"`
		Readers  []reader `json:"readers"`
		Next     string   `json:"next"`
	}{Audience: rep.Audience, Seen: rep.Seen, Read: rep.Read, Readers: []reader{}, Next: rep.Next}
	for _, rc := range rep.Readers {
		out.Readers = append(out.Readers, reader{User: rc.User, SeenAt: stamp(rc.SeenAt), ReadAt: stamp(rc.ReadAt)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// stamp formats a receipt time as notifications' created_at is (RFC 3339, UTC, ms),
// nil for not yet.
func stamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}
