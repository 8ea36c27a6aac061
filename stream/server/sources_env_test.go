package server

// Issue 15, "one cursor" (docs/PROTOCOL.md "Input 2: notifications from any service"): a stream
// reads the user's own log, the broadcast log and one log per group its token names;
// its SSE id is one cursor over all of them. Each test here runs on both brokers (the
// Redis broker against a real redis-server, and broker.Memory as the local system runs
// it) unless it needs Redis itself, and each compares the whole list a client got with
// the whole list that was published to its audience, so a skipped or repeated
// notification of any kind fails it.
//
// This file holds the suite's environment and helpers; its tests are in sources_*_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/presence"
	"github.com/vividly-edu/notifications/stream/internal/ticket"
)

// srcEnv is a stream server over one broker, and the publishing side of that broker.
type srcEnv struct {
	*env
	kind string
	b    broker.Broker // the function's Redis broker, or the server's own Memory
}

// bothBrokers runs test once over the Redis broker and once over broker.Memory.
func bothBrokers(t *testing.T, test func(t *testing.T, s *srcEnv)) {
	for _, kind := range []string{"redis", "memory"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, newSourcesEnv(t, kind, nil))
		})
	}
}

// newSourcesEnv starts a stream server over a broker of kind ("redis": the harness's
// limits and a prefix of its own; "memory": broker.Memory with the same limits and
// MemoryDeps), the server's broker wrapped by wrap when it is set.
func newSourcesEnv(t *testing.T, kind string, wrap func(Broker) Broker) *srcEnv {
	t.Helper()
	if wrap == nil {
		wrap = func(b Broker) Broker { return b }
	}
	e := &env{t: t, names: rediskey.Names{Prefix: fmt.Sprintf("s%d", prefixes.Add(1))}}
	s := &srcEnv{env: e, kind: kind}
	var deps Deps
	switch kind {
	case "redis":
		e.rdb, e.pub = newBroker(t, e.names)
		s.b = e.pub
		_, b := newBroker(t, e.names) // the server's, as a separate process would have
		deps = Deps{Broker: wrap(b), Tickets: ticket.NewRedisStore(b.Client(), e.names),
			Presence: presence.NewRedis(b.Client(), e.names, time.Now)}
	case "memory":
		mem, err := broker.NewMemory(broker.Limits{MaxLen: 20, Retention: time.Hour, DedupeTTL: time.Hour}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		s.b = mem
		if deps, err = MemoryDeps(context.Background(), testConfig(), mem); err != nil {
			t.Fatal(err)
		}
		deps.Broker = wrap(deps.Broker)
	default:
		t.Fatalf("unknown broker %q", kind)
	}
	srv, _, err := Build(testConfig(), deps, e.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.url, e.srv, e.stop, e.served = "http://"+ln.Addr().String(), srv, cancel, make(chan error, 1)
	go func() { e.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { e.shutdown() })
	e.waitReady()
	return s
}

// Group names of these tests, and their sources.
const (
	g7, g9, gs = "class-7b", "class-9", "school_3"
)

var (
	src7, src9, srcS = broker.GroupSource(g7), broker.GroupSource(g9), broker.GroupSource(gs)
	all              = broker.Everyone
)

// announcement is a notification from another service.
func announcement(title string, expires *time.Time) notification.Notification {
	n := notification.Notification{Type: "announcement", Severity: notification.SeverityWarning, Title: title,
		Text: "about " + title, Link: "https://app.example/n", CreatedAt: notification.Timestamp{Time: time.Now().UTC().Truncate(time.Millisecond)}}
	if expires != nil {
		n.ExpiresAt = &notification.Timestamp{Time: expires.UTC().Truncate(time.Millisecond)}
	}
	return n
}

// send stores one notification in source's log as the function does (an announcement
// for a group or everyone, a job notification for a user) and returns its id. It waits
// 2 ms afterwards so that no two notifications share a millisecond: the positions of
// different Redis logs then compare as their creation order (within one millisecond
// two logs can hold the same position, and the merge orders those by source).
func (s *srcEnv) send(source string) string {
	s.t.Helper()
	n := brokertest.Sample(int(msgSeq.Add(1)))
	if !broker.IsUserSource(source) {
		n = announcement(fmt.Sprint("a-", msgSeq.Add(1)), nil)
	}
	return s.sendN(source, n)
}

func (s *srcEnv) sendN(source string, n notification.Notification) string {
	s.t.Helper()
	id, dup, err := s.b.Publish(context.Background(), source, fmt.Sprint("src-", msgSeq.Add(1)), n)
	if err != nil || dup {
		s.t.Fatalf("publish to %s: %v (duplicate %v)", source, err, dup)
	}
	time.Sleep(2 * time.Millisecond)
	return id
}

// expiring publishes an announcement (a job notification for a user) to source that
// expires at at.
func (s *srcEnv) expiring(source string, at time.Time) string {
	s.t.Helper()
	n := announcement(fmt.Sprint("x-", msgSeq.Add(1)), &at)
	if broker.IsUserSource(source) {
		n = brokertest.Sample(int(msgSeq.Add(1)))
		n.ExpiresAt = &notification.Timestamp{Time: at.UTC().Truncate(time.Millisecond)}
	}
	return s.sendN(source, n)
}

// openTok opens a stream with tok, resuming from lastID (Last-Event-ID) when set.
func (s *srcEnv) openTok(tok, lastID, query string) *client {
	s.t.Helper()
	c, status := s.tryOpen(tok, lastID, query)
	if status != http.StatusOK {
		s.t.Fatalf("open stream: status %d", status)
	}
	return c
}

// noteID is the notification id in a notification frame's data.
func noteID(t *testing.T, f frame) string {
	t.Helper()
	var n struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(f.data), &n); err != nil || n.ID == "" {
		t.Fatalf("frame %+v: data without an id (%v)", f, err)
	}
	return n.ID
}

// notes reads n notification frames (resets are not notifications: they fail the
// test) and returns their notification ids and the SSE id of the last.
func notes(t *testing.T, c *client, n int) (ids []string, last string) {
	t.Helper()
	for _, f := range c.events(n) {
		if f.event == "reset" {
			t.Fatalf("unexpected reset %+v", f)
		}
		ids = append(ids, noteID(t, f))
		last = f.id
	}
	return ids, last
}

// upTo reads notification frames until it has max of them or none came for idle.
func upTo(t *testing.T, c *client, max int, idle time.Duration) (ids []string, last string) {
	t.Helper()
	others := 0
	for len(ids) < max {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("stream ended")
			}
			if f.event == "" {
				if others++; others > 1000 {
					t.Fatalf("over 1000 frames without an event; the last %+v", f)
				}
				continue
			}
			if f.event == "reset" {
				t.Fatalf("unexpected reset %+v", f)
			}
			ids, last = append(ids, noteID(t, f)), f.id
		case <-time.After(idle):
			return ids, last
		}
	}
	return ids, last
}

// wantList fails unless got is exactly want, naming what is missing and what repeats.
func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// aliceKinds are the sources of alice's stream in the sources tests, and noise published to
// logs she does not read.
var (
	aliceGroups = []string{g7, gs}
	aliceKinds  = []string{"alice", src7, all, srcS}
	noise       = []string{src9, "bob"}
)
