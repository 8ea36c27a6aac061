package faults

import (
	"fmt"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/redistest"
)

// Issue 27: two real bin/stream processes serve one room; one is SIGKILLed while the
// teacher and students (on the other) and students (on the killed one) are sending. Within 30 s:
// the members whose browsers went away with it leave every survivor's list; the
// sockets that come back reconnect to the other instance and resume with ?after=, so
// every survivor holds the room's whole log, in order, once; and every message a
// client sent is stored exactly once (a send lost with the instance is sent again).
func TestRoomsInstanceKilled(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	a := startProcess(t, rs.Addr, nil)
	b := startProcess(t, rs.Addr, nil)
	const room = "class-kill"
	tok := func(user string, teacher bool) string {
		if teacher {
			return newRoomToken(user, room, "teacher")
		}
		return newRoomToken(user, room)
	}
	teacher := joinRoomClient(t, "teacher", room, tok("teacher", true), b.url)
	var onB, movers, gone []*roomClient
	for i := range 3 {
		u := fmt.Sprint("b-", i)
		onB = append(onB, joinRoomClient(t, u, room, tok(u, false), b.url))
		u = fmt.Sprint("a-", i)
		movers = append(movers, joinRoomClient(t, u, room, tok(u, false), a.url, b.url))
		u = fmt.Sprint("gone-", i)
		gone = append(gone, joinRoomClient(t, u, room, tok(u, false), a.url))
	}
	everyone := append(append(append([]*roomClient{teacher}, onB...), movers...), gone...)
	all := users(everyone)
	waitUntil(t, 10*time.Second, "everyone listed by everyone", func() bool {
		for _, c := range everyone {
			if _, ms, _ := c.snapshot(); !slices.Equal(keys(ms), all) {
				return false
			}
		}
		return true
	})

	var sent []string // every client_id sent
	var killed time.Time
	for i := range 60 {
		if i == 30 {
			for _, g := range gone {
				g.stop()
			}
			if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = time.Now()
		}
		// The teacher and the students on b take turns (each under 5 messages a second).
		from := append([]*roomClient{teacher}, onB...)[i%4]
		id := fmt.Sprintf("%s-%d", from.user, i)
		from.send(id, "step "+id)
		sent = append(sent, id)
		if i >= 26 && i < 34 {
			for _, m := range movers {
				id := fmt.Sprintf("%s-%d", m.user, i)
				m.send(id, "question "+id)
				sent = append(sent, id)
			}
		}
		time.Sleep(100 * time.Millisecond) // pacing, not an assertion
	}

	survivors := append(append([]*roomClient{teacher}, onB...), movers...)
	want := users(survivors)
	var lastLeave time.Time
	state := func() string {
		out := ""
		for _, c := range survivors {
			seen, ms, opens := c.snapshot()
			out += fmt.Sprintf("\n  %s: %d messages, members %v, welcomes from %v", c.user, len(seen), keys(ms), opens)
		}
		ref, _, _ := teacher.snapshot()
		have := map[string]bool{}
		for _, m := range ref {
			have[m.ClientID] = true
		}
		for _, id := range sent {
			if !have[id] {
				out += "\n  missing " + id
			}
		}
		return out
	}
	waitUntil(t, 30*time.Second-time.Since(killed), "every survivor listing the survivors and holding every message", func() bool {
		for _, c := range survivors {
			seen, ms, _ := c.snapshot()
			if !slices.Equal(keys(ms), want) || len(seen) < len(sent) {
				return false
			}
		}
		return true
	}, state)
	for _, c := range survivors {
		c.mu.Lock()
		for _, g := range gone {
			if at := c.leftAt[g.user]; at.After(lastLeave) {
				lastLeave = at
			}
		}
		c.mu.Unlock()
	}
	ref, _, _ := teacher.snapshot()
	count := map[string]int{}
	for _, m := range ref {
		count[m.ClientID]++
	}
	for _, id := range sent {
		if count[id] != 1 {
			t.Errorf("client_id %s stored %d times, want once", id, count[id])
		}
	}
	if len(ref) != len(sent) {
		t.Errorf("the room holds %d messages, %d were sent", len(ref), len(sent))
	}
	for _, c := range survivors {
		seen, _, opens := c.snapshot()
		if !slices.EqualFunc(seen, ref, func(x, y roomMsg) bool { return x.ID == y.ID }) {
			t.Errorf("%s holds %d messages, not the room's %d in order", c.user, len(seen), len(ref))
		}
		if slices.Contains(movers, c) && (len(opens) < 2 || opens[len(opens)-1] != b.url) {
			t.Errorf("%s: welcomes from %v, want a last one from the survivor %s", c.user, opens, b.url)
		}
	}
	line := fmt.Sprintf("ROOMS one of two instances SIGKILLed: %d survivors hold all %d messages once; the %d gone members left every list %.1f s after the kill",
		len(survivors), len(sent), len(gone), lastLeave.Sub(killed).Seconds())
	t.Log(line)
	fmt.Println(line)
}

func users(cs []*roomClient) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.user)
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// waitUntil polls cond for d; on a timeout it fails with what and the report of each
// describe (what the clients hold).
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, describe ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			var detail string
			for _, f := range describe {
				detail += f()
			}
			t.Fatalf("not within %s: %s%s", d.Round(time.Millisecond), what, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
