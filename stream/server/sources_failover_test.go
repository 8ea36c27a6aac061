package server

// Issue 24: a client's cursor after a Redis failover (docs/RELIABILITY.md).

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/rediskey"
	"github.com/vividly-edu/notifications/stream/internal/cursor"
)

// TestSources_CursorLostInFailover: the new primary may lack the newest entries a tab
// already received live (acknowledged ones are on the replica; these were not yet), so
// the tab's cursor names an entry past the end of its log. The stream says so with
// one reset ("unknown", the log moved to its newest), then delivers what is stored
// later; resuming from the reset's id replays it with no further reset (no loop).
func TestSources_CursorLostInFailover(t *testing.T) {
	bothBrokers(t, func(t *testing.T, s *srcEnv) {
		tok := token(t, "alice", time.Hour)
		kept, err := rediskey.ParseStreamID(s.send("alice"))
		if err != nil {
			t.Fatal(err)
		}
		lost := rediskey.StreamID{Ms: kept.Ms + 1} // received live, gone with the primary
		c := s.openTok(tok, cursor.Cursor{cursor.Own: lost, broker.Everyone: rediskey.Zero}.String(), "")
		resets, ids, _ := readFrames(t, c, 300*time.Millisecond)
		if len(resets) != 1 || len(ids) != 0 {
			t.Fatalf("resets %+v, notifications %v; want one reset and nothing replayed", resets, ids)
		}
		var d struct{ Reason string }
		_ = json.Unmarshal([]byte(resets[0].data), &d)
		if pos, err := cursor.Parse(resets[0].id); err != nil || pos[cursor.Own] != kept || d.Reason != "unknown" {
			t.Errorf("reset %+v: want reason unknown and the own log at %s", resets[0], kept)
		}
		live := s.send("alice")
		if got, _ := notes(t, c, 1); got[0] != live {
			t.Errorf("live after the reset: %v, want %s", got, live)
		}
		c.close()
		r := s.openTok(tok, resets[0].id, "")
		resets, ids, _ = readFrames(t, r, 300*time.Millisecond)
		if len(resets) != 0 {
			t.Errorf("resuming from the reset's id reset again: %+v", resets)
		}
		wantList(t, "resumed from the reset's id", ids, []string{live})
	})
}
