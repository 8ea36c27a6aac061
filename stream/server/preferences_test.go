package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker/brokertest"
)

const prefsPath = "/api/v1/notifications/preferences"

// publishFailed stores a video_failed notification for user and returns its id.
func (e *env) publishFailed(user string) string {
	e.t.Helper()
	id, _, err := e.pub.Publish(context.Background(), user, "failed-"+time.Now().Format(time.RFC3339Nano), brokertest.SampleFailed(1))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) putPrefs(user, body, want string) {
	e.t.Helper()
	if status, got, _ := e.request(http.MethodPut, prefsPath, user, body); status != http.StatusOK || strings.TrimSpace(got) != want {
		e.t.Fatalf("PUT %s: %d %s, want 200 %s", body, status, got, want)
	}
}

func (e *env) wantPrefs(user, want string) {
	e.t.Helper()
	if status, got, _ := e.request(http.MethodGet, prefsPath, user, ""); status != http.StatusOK || strings.TrimSpace(got) != want {
		e.t.Fatalf("GET preferences of %s: %d %s, want 200 %s", user, status, got, want)
	}
}

// TestPreferencesRoundTrip: defaults until stored; PUT stores the normalised document
// and answers it; GET returns it, to that user only; a new process reads it.
func TestPreferencesRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const defaults = `{"muted_types":[],"push":true,"push_muted_types":[],"quiet_hours":null}`
	e.wantPrefs("pra", defaults)
	stored := `{"muted_types":["announcement","video_failed"],"push":false,"push_muted_types":[],"quiet_hours":null}`
	e.putPrefs("pra", `{"muted_types":["video_failed","announcement","video_failed"],"push":false,"push_muted_types":[],"quiet_hours":null}`, stored)
	e.wantPrefs("pra", stored)
	e.wantPrefs("prb", defaults)
	e.shutdown()
	e.start(nil)
	e.wantPrefs("pra", stored)
	e.putPrefs("pra", defaults, defaults)
	e.wantPrefs("pra", defaults)
}

// TestPreferencesValidation: unknown fields, missing fields, bad or reserved type
// names, too many types, bad JSON: 400 with a JSON error, and nothing changes; an
// oversized body is 413.
func TestPreferencesValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	stored := `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`
	e.putPrefs("prc", stored, stored)
	fifty := `"t_` + strings.Join(strings.Split(strings.Repeat("x", 50), ""), `","t_`) + `"`
	for name, body := range map[string]string{
		"empty":          "",
		"not JSON":       "muted_types=",
		"unknown field":  `{"muted_types":[],"push":true,"email":true}`,
		"no push":        `{"muted_types":[]}`,
		"no muted_types": `{"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"null types":     `{"muted_types":null,"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"push not bool":  `{"muted_types":[],"push":"yes"}`,
		"upper case":     `{"muted_types":["Video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"digit first":    `{"muted_types":["1video"],"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"too long":       `{"muted_types":["` + strings.Repeat("a", 41) + `"],"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"reserved read":  `{"muted_types":["read"],"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"reserved reset": `{"muted_types":["reset"],"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"too many":       `{"muted_types":[` + fifty + `,"one_more"],"push":true,"push_muted_types":[],"quiet_hours":null}`,
		"not a list":     `{"muted_types":"video_failed","push":true,"push_muted_types":[],"quiet_hours":null}`,
		"trailing data":  stored + `x`,
	} {
		status, got, _ := e.request(http.MethodPut, prefsPath, "prc", body)
		if status != http.StatusBadRequest || !strings.HasPrefix(got, `{"error":`) {
			t.Errorf("%s: %d %q, want 400 with a JSON error", name, status, got)
		}
	}
	e.wantPrefs("prc", stored)
	big := `{"muted_types":["` + strings.Repeat("a", 70<<10) + `"],"push":true,"push_muted_types":[],"quiet_hours":null}`
	if status, _, _ := e.request(http.MethodPut, prefsPath, "prc", big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: %d, want 413", status)
	}
	if status, _, _ := e.request(http.MethodGet, prefsPath, "", ""); status != http.StatusUnauthorized {
		t.Errorf("no credential: %d, want 401", status)
	}
	// 50 types is the limit, any well-formed name is accepted.
	if status, got, _ := e.request(http.MethodPut, prefsPath, "prc", `{"muted_types":[`+fifty+`],"push":true,"push_muted_types":[],"quiet_hours":null}`); status != http.StatusOK {
		t.Errorf("50 types: %d %s", status, got)
	}
	// A browser on an allowed origin may PUT (CORS preflight).
	status, h := e.call(http.MethodOptions, prefsPath, map[string]string{"Origin": "https://app.example",
		"Access-Control-Request-Method": "PUT"})
	if status != http.StatusNoContent || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("preflight for PUT: %d, methods %q", status, h.Get("Access-Control-Allow-Methods"))
	}
}

// TestMutedTypeIsNotSentLive: once a type is muted, an open stream does not send it
// (it stays in history) but moves its position past it with an id-only frame, so a
// resume neither resends it nor replays it; other types still arrive; unmuting applies
// at once to the next notification.
func TestMutedTypeIsNotSentLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.open("prd", "", "")
	start := e.publish("prd")
	c.events(1)
	e.putPrefs("prd", `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`, `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`)
	failed := e.publishFailed("prd")
	// The muted notification is no event, but its id reaches the client.
	for f := c.next(); f.id != failed; f = c.next() {
		if f.event != "" || f.id != "" {
			t.Fatalf("got %+v, want the muted notification's id-only frame", f)
		}
	}
	// Resuming from the id-only frame's position: nothing is owed.
	e.open("prd", failed, "").quiet(200 * time.Millisecond)
	done := e.publish("prd")
	if f := c.events(1)[0]; f.id != done || f.event != "video_complete" {
		t.Fatalf("got %+v, want the unmuted %s", f, done)
	}
	ids, _, _ := e.readHistory("prd", "")
	if strings.Join(ids, ",") != strings.Join([]string{start, failed, done}, ",") {
		t.Fatalf("history %v, want the muted notification kept", ids)
	}
	// Replayed on resume: skipped too, and no reset.
	r := e.open("prd", start, "")
	if f := r.events(1)[0]; f.id != done {
		t.Fatalf("resume got %+v, want only %s", f, done)
	}
	// Unmuted: the next one arrives on the open stream.
	e.putPrefs("prd", `{"muted_types":[],"push":true,"push_muted_types":[],"quiet_hours":null}`, `{"muted_types":[],"push":true,"push_muted_types":[],"quiet_hours":null}`)
	again := e.publishFailed("prd")
	if f := c.events(1)[0]; f.id != again || f.event != "video_failed" {
		t.Fatalf("after unmuting got %+v, want %s", f, again)
	}
}

// TestMutedAtOpen: a stream opened with a type already muted skips it from the start.
func TestMutedAtOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.putPrefs("pre", `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`, `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`)
	c := e.open("pre", "", "")
	e.publishFailed("pre")
	done := e.publish("pre")
	if f := c.events(1)[0]; f.id != done {
		t.Fatalf("got %+v, want %s", f, done)
	}
}

// TestMuteHoldsAcrossPubSubLoss: a preference change made while the instance's pub/sub
// connection is down (its control message lost) still applies: the stream reads the
// preferences again when it resyncs.
// Not parallel: it kills every pub/sub connection of the shared Redis.
func TestMuteHoldsAcrossPubSubLoss(t *testing.T) {
	e := newEnv(t, nil)
	c := e.open("prf", "", "")
	if err := e.rdb.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	e.putPrefs("prf", `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`, `{"muted_types":["video_failed"],"push":true,"push_muted_types":[],"quiet_hours":null}`)
	e.publishFailed("prf")
	done := e.publish("prf")
	if f := c.events(1)[0]; f.id != done {
		t.Fatalf("got %+v, want only %s", f, done)
	}
}

// TestPreferencesQuietHoursAndPushMuted: the extended document round-trips, the new
// fields are optional (an old client's document stores their defaults), and quiet
// hours with an unknown zone, a bad time or unknown fields are 400.
func TestPreferencesQuietHoursAndPushMuted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	full := `{"muted_types":[],"push":true,"push_muted_types":["grade"],` +
		`"quiet_hours":{"start":"21:00","end":"07:00","time_zone":"Europe/Berlin"}}`
	e.putPrefs("pqa", full, full)
	e.wantPrefs("pqa", full)
	for name, body := range map[string]string{
		"unknown zone":   `{"muted_types":[],"push":true,"quiet_hours":{"start":"21:00","end":"07:00","time_zone":"Europe/Nowhere"}}`,
		"bad time":       `{"muted_types":[],"push":true,"quiet_hours":{"start":"9pm","end":"07:00","time_zone":"UTC"}}`,
		"extra field":    `{"muted_types":[],"push":true,"quiet_hours":{"start":"21:00","end":"07:00","time_zone":"UTC","days":[1]}}`,
		"bad push muted": `{"muted_types":[],"push":true,"push_muted_types":["Grade"]}`,
	} {
		if status, got, _ := e.request(http.MethodPut, prefsPath, "pqa", body); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, status, got)
		}
	}
	e.wantPrefs("pqa", full)
	e.putPrefs("pqa", `{"muted_types":[],"push":true}`, `{"muted_types":[],"push":true,"push_muted_types":[],"quiet_hours":null}`)
}
