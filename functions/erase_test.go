package notify

import (
	"context"
	"net/http"
	"testing"
)

// TestEraseUserThroughPublish: an erase_user message delivered to Publish as Eventarc
// sends it erases the user's log (the production wiring: newHandlers gives Publish the
// Redis privacy store); a redelivery is acknowledged too.
func TestEraseUserThroughPublish(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	user := "erase-" + runID()
	data := announce(t, map[string]any{"users": []string{user}}, nil)
	if got := deliverTo(t, publishURL, "ea-"+user, data); got != http.StatusOK {
		t.Fatalf("announce: %d", got)
	}
	if n := len(stored(t, b, user)); n != 1 {
		t.Fatalf("stored %d", n)
	}
	erase := []byte(`{"type":"erase_user","user_id":"` + user + `"}`)
	for i := range 2 {
		if got := deliverTo(t, publishURL, "ee-"+user, erase); got != http.StatusOK {
			t.Fatalf("erase delivery %d: %d", i, got)
		}
	}
	if n := len(stored(t, b, user)); n != 0 {
		t.Errorf("log holds %d after erase_user", n)
	}
	if n := b.Client().Exists(context.Background(), "notifications:{"+user+"}:seen:ea-"+user).Val(); n != 0 {
		t.Error("dedupe marker left after erase_user")
	}
}
