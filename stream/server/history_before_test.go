package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
)

type prevPage struct {
	Notifications []struct {
		ID string `json:"id"`
	} `json:"notifications"`
	Next string `json:"next"`
	Prev string `json:"prev"`
}

func (e *env) prevHistory(user, query string) prevPage {
	e.t.Helper()
	status, body, _ := e.request(http.MethodGet, "/api/v1/notifications"+query, user, "")
	var p prevPage
	if err := json.Unmarshal([]byte(body), &p); status != http.StatusOK || err != nil {
		e.t.Fatalf("history%s: %d %s (%v)", query, status, body, err)
	}
	return p
}

// TestHistoryBeforePagesBackwards: from the newest page, before=prev pages back over
// the user's own and the broadcast log together, each page the newest limit older
// than the last, until an empty page; together they list the whole history once, in
// order. A before= page has no next; after and before together, or a bad before, is 400.
func TestHistoryBeforePagesBackwards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	for i := range 11 {
		if i%3 == 2 {
			if _, _, err := e.pub.Publish(ctx, broker.Everyone, fmt.Sprint("hb-all-", i, "-", e.names.Prefix), brokertest.Sample(i)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		e.publish("hba")
	}
	var whole []string
	for _, n := range e.prevHistory("hba", "?limit=200").Notifications {
		whole = append(whole, n.ID)
	}
	if len(whole) < 11 {
		t.Fatalf("history lists %d, want at least 11", len(whole))
	}
	p := e.prevHistory("hba", "?limit=3")
	var paged []string
	for range 20 {
		var ids []string
		for _, n := range p.Notifications {
			ids = append(ids, n.ID)
		}
		paged = append(ids, paged...)
		if len(ids) == 0 || p.Prev == "" {
			break
		}
		p = e.prevHistory("hba", "?limit=3&before="+p.Prev)
		if p.Next != "" {
			t.Errorf("a before= page has next %q", p.Next)
		}
	}
	if !slices.Equal(paged, whole) {
		t.Errorf("paged back: %v\nwant %v", paged, whole)
	}
	for _, q := range []string{"?before=1-x", "?before=x&after=y"} {
		if status, _, _ := e.request(http.MethodGet, "/api/v1/notifications"+q, "hba", ""); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}
}
