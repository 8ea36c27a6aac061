package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Fault 8: a school. 500 students' tabs share one client address (all of this test's
// clients come from 127.0.0.1) and reach two stream processes through a balancer. One
// process is SIGKILLed while 600 notifications are published; every tab of that process
// reconnects at once, as a browser client would: a fresh ticket, then the stream from
// its last id, backing off with full jitter and honouring Retry-After. With default
// admission settings all must be connected and caught up within 10 s of the kill,
// nothing lost or duplicated.
func TestFault8_ClassroomBehindOneAddress(t *testing.T) {
	addr := startRedis(t)
	// Default admission and retry settings: unset what streamEnv lifts for other faults.
	defaults := map[string]string{"RATE_LIMIT_PER_IP": "", "RATE_LIMIT_BURST": "", "RATE_LIMIT_PER_USER": "",
		"RATE_LIMIT_USER_BURST": "", "SSE_RETRY": "", "MAX_CONNS": ""}
	a := startProcess(t, addr, defaults)
	b := startProcess(t, addr, defaults)
	px := startProxy(t, a.addr, b.addr)
	const students = 500
	f := openClassroom(t, students, px.url)
	p := newPublisher(t, addr)
	var killed time.Time
	for i := range 600 {
		if i == 100 {
			if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = time.Now()
		}
		p.publishMixed(t, f, i, fmt.Sprint("user-", i%students))
		time.Sleep(time.Millisecond)
	}
	published := time.Since(killed)
	c := f.verify(t, "8 classroom: 500 students behind one address, one of two processes SIGKILLed, 600 notifications (own, class, broadcast)", 60*time.Second)
	caughtUp := f.caughtUpAt().Sub(killed)
	line := fmt.Sprintf("FAULT 8 all %d tabs connected and caught up %.2f s after the kill (publishing ended at %.2f s; limit 10 s); lost %d, duplicated %d",
		len(f.tabs), caughtUp.Seconds(), published.Seconds(), c.lost, c.duplicated)
	t.Log(line)
	fmt.Println(line)
	if caughtUp > 10*time.Second {
		t.Fatalf("caught up after %s, over 10 s", caughtUp)
	}
}

// openClassroom connects one ticket-using tab per student and waits until all are open.
func openClassroom(t *testing.T, students int, base func() string) *fleet {
	t.Helper()
	return openTabs(t, students, 1, func(ctx context.Context, tb *tab) { tb.runWithTickets(ctx, base) })
}

// runWithTickets is the browser client's loop: POST a ticket with the JWT, open the
// stream with ?ticket= and the last id, and after any failure wait a full-jitter
// backoff (base 1 s doubling to 30 s; Retry-After when the server sends one). The
// attempt count resets once a stream has opened.
func (tb *tab) runWithTickets(ctx context.Context, base func() string) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	last, attempt := "", 0
	for ctx.Err() == nil {
		resp, retryAfter, err := tb.open(ctx, client, base(), last)
		if err != nil {
			tb.reconnects.Add(1)
			wait := time.Duration(rand.Int64N(int64(time.Second) << min(attempt, 5)))
			sleepCtx(ctx, max(wait, retryAfter))
			attempt++
			continue
		}
		attempt = 0
		last = tb.read(resp.Body, last)
		resp.Body.Close()
		tb.reconnects.Add(1)
		sleepCtx(ctx, time.Duration(rand.Int64N(int64(time.Second)))) // the first retry window
	}
}

// open gets a ticket and opens the stream; on refusal it returns the server's
// Retry-After.
func (tb *tab) open(ctx context.Context, client *http.Client, base, last string) (*http.Response, time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/notifications/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+newToken(tb.user, tb.groups, time.Hour))
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	var body struct{ Ticket string }
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil {
		return nil, retryAfter(resp), fmt.Errorf("ticket: %d", resp.StatusCode)
	}
	q := url.Values{"ticket": {body.Ticket}}
	if from := tb.resumeFrom(last); from != "" {
		q.Set("last_event_id", from)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/notifications/stream?"+q.Encode(), nil)
	resp, err = client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, retryAfter(resp), fmt.Errorf("stream: %d", resp.StatusCode)
	}
	return resp, 0, nil
}

func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil {
		return 0
	}
	return time.Duration(s) * time.Second
}

// caughtUpAt is when the last tab had both reopened its stream and received its last
// notification.
func (f *fleet) caughtUpAt() time.Time {
	var last time.Time
	for _, tb := range f.tabs {
		if at := time.Unix(0, tb.openedAt.Load()); at.After(last) {
			last = at
		}
		tb.mu.Lock()
		for _, at := range tb.got {
			if at.After(last) {
				last = at
			}
		}
		tb.mu.Unlock()
	}
	return last
}
