package server

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// The inbox's history filters (docs/PROTOCOL.md "Seen and archived"): unread=true lists only unread
// notifications, type=a,b only those types, archived=true only archived ones; archived
// ones are left out otherwise.

// maxFilterTypes bounds type=.
const maxFilterTypes = 20

// errBadFilter answers a filter that cannot be read.
var errBadFilter = errors.New(`filters are unread=true|false, archived=true|false and type=<type>[,<type>…] (at most 20 types)`)

// historyFilter is what a history request keeps.
type historyFilter struct {
	unread   bool            // only unread
	archived bool            // only archived (else: archived left out)
	types    map[string]bool // only these types; nil: any
}

// parseHistoryFilter reads the filters of q.
func parseHistoryFilter(q url.Values) (historyFilter, error) {
	var f historyFilter
	flag := func(name string) (bool, error) {
		switch v := q.Get(name); {
		case !q.Has(name) || v == "false":
			return false, nil
		case v == "true":
			return true, nil
		}
		return false, errBadFilter
	}
	var err1, err2 error
	f.unread, err1 = flag("unread")
	f.archived, err2 = flag("archived")
	if err1 != nil || err2 != nil {
		return f, errBadFilter
	}
	if q.Has("type") {
		list := strings.Split(q.Get("type"), ",")
		if len(list) > maxFilterTypes {
			return f, errBadFilter
		}
		f.types = map[string]bool{}
		for _, t := range list {
			if !typeNameOK(t) {
				return f, errBadFilter
			}
			f.types[t] = true
		}
	}
	return f, nil
}

// typeNameOK: [a-z][a-z0-9_]{0,39}, the shape of every notification type.
func typeNameOK(t string) bool {
	if len(t) == 0 || len(t) > notification.MaxTypeLen || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 1; i < len(t); i++ {
		if c := t[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// pageState is the per-item state of a history page and the user's counts.
type pageState struct {
	read, seen, archived []bool
	unread, unseen       int
	inbox                bool // the broker keeps seen and archived state
}

// state returns the read, seen and archived state of items (of sources, the user's
// own log first).
func (s *Server) state(ctx context.Context, userID string, sources []string, items []notification.Envelope) (pageState, error) {
	ids := make([]string, len(items))
	for i, e := range items {
		ids[i] = e.ID
	}
	var st pageState
	var err error
	if st.read, st.unread, err = s.broker.ReadState(ctx, userID, sources[1:], ids); err != nil {
		return st, err
	}
	if in, ok := s.broker.(broker.Inbox); ok {
		is, err := in.InboxState(ctx, userID, sources[1:], ids)
		if err != nil {
			return st, err
		}
		st.seen, st.archived, st.unseen, st.inbox = is.Seen, is.Archived, is.Unseen, true
	}
	return st, nil
}

// keep reports whether the i-th item of st passes f.
func (f historyFilter) keep(e notification.Envelope, st pageState, i int) bool {
	at := func(v []bool) bool { return i < len(v) && v[i] }
	switch {
	case f.types != nil && !f.types[string(e.Type)]:
		return false
	case f.unread && at(st.read):
		return false
	}
	return at(st.archived) == f.archived
}

// filtered is a history page after filtering: the items kept and their state.
type filtered struct {
	items []notification.Envelope
	st    pageState
}

// add appends the items of raw that f keeps.
func (p *filtered) add(f historyFilter, raw []notification.Envelope, st pageState) {
	for i, e := range raw {
		if f.keep(e, st, i) {
			p.items = append(p.items, e)
			p.st.read = append(p.st.read, i < len(st.read) && st.read[i])
			p.st.seen = append(p.st.seen, i < len(st.seen) && st.seen[i])
			p.st.archived = append(p.st.archived, i < len(st.archived) && st.archived[i])
		}
	}
	p.st.unread, p.st.unseen, p.st.inbox = st.unread, st.unseen, st.inbox
}

// listFiltered pages forward from next as listAfter does, but fills the page with
// items f keeps: it reads on while pages come back full and the page is short. next
// ends after the last item listed (items read past it and left out are read again by
// the next page, and left out again).
func (s *Server) listFiltered(ctx context.Context, userID string, sources []string, next cursor.Cursor,
	keyOf func(string) string, limit int, f historyFilter) (filtered, cursor.Cursor, error) {
	var page filtered
	var raws []notification.Envelope
	start := next.Clone()
	for {
		raw, err := s.listAfter(ctx, sources, next, keyOf, limit)
		if err != nil {
			return page, next, err
		}
		st, err := s.state(ctx, userID, sources, raw)
		if err != nil {
			return page, next, err
		}
		raws = append(raws, raw...)
		page.add(f, raw, st)
		if len(page.items) >= limit || len(raw) < limit {
			break
		}
	}
	if len(page.items) <= limit {
		return page, next, nil
	}
	page.items = page.items[:limit]
	page.st.read, page.st.seen, page.st.archived = page.st.read[:limit], page.st.seen[:limit], page.st.archived[:limit]
	last := page.items[limit-1].ID
	for _, e := range raws { // the cursor just after the last item listed
		source, pos, own, _ := broker.SplitItemID(e.ID)
		if own {
			source = cursor.Own
		}
		start[source] = pos
		if e.ID == last {
			break
		}
	}
	return page, start, nil
}

// appendState appends data with its state fields added: "read", and "seen" and
// "archived" when the broker keeps them.
func appendState(out, data []byte, st pageState, i int) []byte {
	at := func(v []bool) bool { return i < len(v) && v[i] }
	out = appendRead(out, data, at(st.read))
	if !st.inbox || len(out) == 0 || out[len(out)-1] != '}' {
		return out
	}
	out = out[:len(out)-1]
	out = append(out, `,"seen":`...)
	out = appendBool(out, at(st.seen))
	out = append(out, `,"archived":`...)
	out = appendBool(out, at(st.archived))
	return append(out, '}')
}

func appendBool(out []byte, v bool) []byte {
	if v {
		return append(out, "true"...)
	}
	return append(out, "false"...)
}
