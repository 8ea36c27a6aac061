package server

// Issue 15, "one cursor": resets for trimmed and unknown log positions (helpers in
// sources_env_test.go).

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// readFrames reads frames until none comes for idle, and returns the resets among them,
// the notification ids, and the last SSE id.
func readFrames(t *testing.T, c *client, idle time.Duration) (resets []frame, ids []string, last string) {
	t.Helper()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("stream ended")
			}
			switch f.event {
			case "":
			case "reset":
				resets, last = append(resets, f), f.id
			default:
				ids, last = append(ids, noteID(t, f)), f.id
			}
		case <-time.After(idle):
			return resets, ids, last
		}
	}
}

// trim publishes more than the log holds (MaxLen 20) to source while the client is
// away, and returns the oldest id it still holds and the newest.
func (s *srcEnv) trim(source string) (oldest, newest string) {
	var ids []string
	for range 25 {
		ids = append(ids, s.send(source))
	}
	return ids[5], ids[24]
}

// checkReset checks that resets holds exactly one reset for source, and that it names
// the oldest id the log still holds and moves the cursor to its newest.
func checkReset(t *testing.T, resets []frame, source, oldest, newest string) {
	t.Helper()
	var mine []frame
	for _, f := range resets {
		var d struct{ Reason, Oldest string }
		if err := json.Unmarshal([]byte(f.data), &d); err != nil {
			t.Fatalf("reset data %q: %v", f.data, err)
		}
		if strings.HasPrefix(d.Oldest, broker.ItemPrefix(source)) {
			mine = append(mine, f)
			if d.Reason != "expired" || d.Oldest != oldest {
				t.Errorf("reset of %s: %s, want reason expired and oldest %s", source, f.data, oldest)
			}
			c, err := cursor.Parse(f.id)
			_, pos, _, _ := broker.SplitItemID(newest)
			if err != nil || c[source] != pos {
				t.Errorf("reset id %q: want %s at %s", f.id, source, pos)
			}
		}
	}
	if len(mine) != 1 {
		t.Errorf("%d resets for %s, want 1 (all resets: %+v)", len(mine), source, resets)
	}
}

// TestSources_TrimmedGroupLogResets: when a group's log no longer holds the client's
// position in it, the stream sends event: reset for that log (data: the oldest id it
// holds; id: the cursor with that log at its newest) and replays the other logs, which
// lost nothing.
func TestSources_TrimmedGroupLogResets(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		c := s.openTok(tok, "", "")
		s.send(src7)
		_, last := notes(t, c, 1)
		c.close()
		var want []string
		want = append(want, s.send("alice"), s.send(all))
		oldest, newest := s.trim(src7)
		want = append(want, s.send("alice"), s.send(srcS))

		r := s.openTok(tok, last, "")
		resets, got, _ := readFrames(t, r, 300*time.Millisecond)
		checkReset(t, resets, src7, oldest, newest)
		wantList(t, "the other logs replayed", got, want)
		live := s.send(src7)
		if got, _ := notes(t, r, 1); got[0] != live {
			t.Errorf("live in the reset group: %v, want %s", got, live)
		}
	})
}

// TestSources_UnknownGroupPositionResets: a group position past the newest its log
// ever held gets event: reset "unknown" for that log (its id: the cursor with the log at
// its newest) while the own log replays; the history refuses it as after (400), as it
// refuses the largest id of the own log.
func TestSources_UnknownGroupPositionResets(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, g7)
		newest := s.send(src7)
		own := s.send("alice")
		_, newestPos, _, _ := broker.SplitItemID(newest)
		last := "0-0." + src7 + ":" + rediskey.Max.String()
		r := s.openTok(tok, last, "")
		resets, got, _ := readFrames(t, r, 300*time.Millisecond)
		wantList(t, "own log replayed", got, []string{own})
		if len(resets) != 1 {
			t.Fatalf("resets %+v, want one", resets)
		}
		var d struct{ Reason, Oldest string }
		_ = json.Unmarshal([]byte(resets[0].data), &d)
		c, err := cursor.Parse(resets[0].id)
		if err != nil || c[src7] != newestPos || d.Reason != "unknown" || d.Oldest != newest {
			t.Errorf("reset %+v: want reason unknown, oldest %s, id with %s at %s", resets[0], newest, src7, newestPos)
		}
		if _, status := s.history(tok, "?after="+url.QueryEscape(last)); status != http.StatusBadRequest {
			t.Errorf("history after %s: %d, want 400", last, status)
		}
	})
}

// TestSources_EveryTrimmedLogResets: when two logs (a group's and the broadcast log)
// both lost the client's position, each gets its reset. Otherwise the client never
// learns of the second gap: that log is silently read no further in this replay, and
// once a live notification of it moves the cursor, no later resume reports it either.
func TestSources_EveryTrimmedLogResets(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := groupToken(t, "alice", time.Hour, aliceGroups...)
		c := s.openTok(tok, "", "")
		s.send(src7)
		s.send(all)
		_, last := notes(t, c, 2)
		c.close()
		oldest7, newest7 := s.trim(src7)
		oldestAll, newestAll := s.trim(all)
		own := s.send("alice")

		r := s.openTok(tok, last, "")
		resets, got, _ := readFrames(t, r, 300*time.Millisecond)
		wantList(t, "own log replayed", got, []string{own})
		checkReset(t, resets, src7, oldest7, newest7)
		checkReset(t, resets, all, oldestAll, newestAll)
	})
}
