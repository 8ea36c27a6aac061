package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker/brokertest"
	"github.com/vividly-edu/notifications/shared/notification"
	"github.com/vividly-edu/notifications/shared/redistest"
)

func sampleN() notification.Notification { return brokertest.Sample(1) }

// TestShutdownEndsStreamsAndClientResumes: the server drains (as on SIGTERM), every
// stream ends with a retry hint well within Cloud Run's 10 s, and a client that
// resumes on a new process with its last id misses nothing.
func TestShutdownEndsStreamsAndClientResumes(t *testing.T) {
	e := newEnv(t, nil)
	var clients []*client
	for range 20 {
		clients = append(clients, e.open("ivan", "", ""))
	}
	last := e.publish("ivan")
	for _, c := range clients {
		c.events(1)
	}
	took := e.shutdown()
	if took > 10*time.Second {
		t.Fatalf("shutdown took %s", took)
	}
	for _, c := range clients {
		got := c.ended(time.Second)
		if len(got) == 0 || got[len(got)-1].retry == "" {
			t.Fatalf("stream closed without a retry hint: %+v", got)
		}
	}
	var want []string
	for range 3 {
		want = append(want, e.publish("ivan"))
	}
	e.start(nil) // a new process
	r := e.open("ivan", last, "")
	if got := ids(r.events(3)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after restart got %v, want %v", got, want)
	}
	t.Logf("shutdown with 20 open streams took %s", took)
}

// TestRedisDown: readiness and new streams report 503 while Redis is unreachable, and
// recover when it is back.
func TestRedisDown(t *testing.T) {
	// Its own Redis: stopping the shared one would disturb parallel tests.
	own := redistest.Start(t, redistest.Options{})
	saved := redisSrv
	redisSrv = own
	e := newEnv(t, nil)
	redisSrv = saved

	own.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(e.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d with Redis down", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, status := e.tryOpen(token(t, "jane", time.Hour), "", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("stream with Redis down: %d, want 503", status)
	}
	if err := own.Restart(); err != nil {
		t.Fatal(err)
	}
	e.waitReady()
	c := e.open("jane", "", "")
	id := e.publish("jane")
	if f := c.events(1)[0]; f.id != id {
		t.Fatalf("after recovery got %+v", f)
	}
}

// TestPubSubKilledStreamsCatchUp: when the pub/sub connection is killed, notifications
// published during the gap reach open streams once, in order, through the log.
func TestPubSubKilledStreamsCatchUp(t *testing.T) {
	e := newEnv(t, nil)
	c := e.open("kim", "", "")
	first := e.publish("kim")
	c.events(1)
	ctx := context.Background()
	if err := e.rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for range 5 {
		want = append(want, e.publish("kim"))
	}
	if got := ids(c.events(5)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after pub/sub kill got %v, want %v (first %s)", got, want, first)
	}
	c.quiet(300 * time.Millisecond)
}
