package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/redisbroker"
)

// newPrivacyEnv is a server with receipts and export on.
func newPrivacyEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.names.Prefix = fmt.Sprintf("pv%d", prefixes.Add(1))
	e.rdb, e.pub = newBroker(t, e.names)
	p, err := redisbroker.NewPrivacy(e.rdb, e.names, broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.privacy = p
	e.start(nil)
	return e
}

// as sends a request with tok as the Bearer credential.
func (e *env) as(tok, method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// publishTo stores one announcement in group's log and returns its id.
func (e *env) publishTo(group string) string {
	e.t.Helper()
	id, _, err := e.pub.Publish(context.Background(), broker.GroupSource(group), fmt.Sprint("msg-", msgSeq.Add(1)), brokertest.Sample(1))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

type receiptsBody struct {
	Audience, Seen, Read int
	Readers              []struct {
		User   string
		SeenAt *string `json:"seen_at"`
		ReadAt *string `json:"read_at"`
	}
	Next string
}

// TestReceiptsForATeacher: members who opened a stream are the audience; a student's
// seen and read marks show as first times, and readers page.
func TestReceiptsForATeacher(t *testing.T) {
	t.Parallel()
	e := newPrivacyEnv(t)
	id := e.publishTo("class7")
	for _, s := range []string{"stu1", "stu2", "stu3"} {
		c, status := e.tryOpen(roomToken(t, s, time.Hour, false, "class7"), "", "")
		if status != http.StatusOK {
			t.Fatalf("open %s: %d", s, status)
		}
		c.close()
	}
	stu := func(s string) string { return roomToken(t, s, time.Hour, false, "class7") }
	if st, _ := e.as(stu("stu1"), "POST", "/api/v1/notifications/seen", `{"ids":["`+id+`"]}`); st != http.StatusNoContent {
		t.Fatalf("seen: %d", st)
	}
	if st, _ := e.as(stu("stu2"), "POST", "/api/v1/notifications/read", `{"all":true}`); st != http.StatusNoContent {
		t.Fatalf("read: %d", st)
	}
	teacher := roomToken(t, "mrs-t", time.Hour, true, "class7")
	st, body := e.as(teacher, "GET", "/api/v1/receipts?notification="+url.QueryEscape(id)+"&limit=1", "")
	if st != http.StatusOK {
		t.Fatalf("receipts: %d %s", st, body)
	}
	var got receiptsBody
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Audience != 3 || got.Seen != 2 || got.Read != 1 || len(got.Readers) != 1 || got.Readers[0].User != "stu1" ||
		got.Readers[0].SeenAt == nil || got.Readers[0].ReadAt != nil || got.Next != "stu1" {
		t.Fatalf("first page %s", body)
	}
	_, body = e.as(teacher, "GET", "/api/v1/receipts?notification="+url.QueryEscape(id)+"&limit=1&after=stu1", "")
	if !strings.Contains(body, `"user":"stu2"`) || !strings.Contains(body, `"next":""`) {
		t.Errorf("second page %s", body)
	}
}

// TestSecurityReceipts: only a teacher whose token names the notification's group may
// read its receipts; a student (even of that group) and a teacher of another class get
// 403, before the id is looked up; an unknown id of the teacher's group is 404.
func TestSecurityReceipts(t *testing.T) {
	t.Parallel()
	e := newPrivacyEnv(t)
	id := e.publishTo("class7")
	q := "/api/v1/receipts?notification=" + url.QueryEscape(id)
	for name, c := range map[string]struct {
		tok  string
		path string
		want int
	}{
		"teacher of the class":      {roomToken(t, "mrs-t", time.Hour, true, "class7"), q, http.StatusOK},
		"student of the class":      {roomToken(t, "stu1", time.Hour, false, "class7"), q, http.StatusForbidden},
		"teacher of another class":  {roomToken(t, "mr-x", time.Hour, true, "class8"), q, http.StatusForbidden},
		"student, unknown id":       {roomToken(t, "stu1", time.Hour, false, "class7"), "/api/v1/receipts?notification=@class7:1-0", http.StatusForbidden},
		"other teacher, unknown id": {roomToken(t, "mr-x", time.Hour, true, "class8"), "/api/v1/receipts?notification=@class7:1-0", http.StatusForbidden},
		"unknown id":                {roomToken(t, "mrs-t", time.Hour, true, "class7"), "/api/v1/receipts?notification=@class7:1-0", http.StatusNotFound},
		"an own-log id":             {roomToken(t, "mrs-t", time.Hour, true, "class7"), "/api/v1/receipts?notification=5-0", http.StatusNotFound},
		"no id":                     {roomToken(t, "mrs-t", time.Hour, true, "class7"), "/api/v1/receipts", http.StatusBadRequest},
		"bad limit":                 {roomToken(t, "mrs-t", time.Hour, true, "class7"), q + "&limit=1001", http.StatusBadRequest},
	} {
		if st, body := e.as(c.tok, "GET", c.path, ""); st != c.want {
			t.Errorf("%s: %d %s, want %d", name, st, body, c.want)
		}
	}
	if st, _ := e.as("not-a-token", "GET", q, ""); st != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", st)
	}
}
