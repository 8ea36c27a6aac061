package notify

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// rejected reads notify_rejected_total{entry_point="Publish",reason} from the default
// registry, where the production handlers count.
func rejected(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "notify_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["entry_point"] == PublishEntryPoint && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestPublishRefusedOverHTTP: bad input is acknowledged (2xx, so Pub/Sub does not
// retry it forever), counted, and stores nothing anywhere.
func TestPublishRefusedOverHTTP(t *testing.T) {
	b := openBroker(t)
	run := runID()
	user, group := "pr-u-"+run, "pr-g-"+run
	users := map[string]any{"users": []string{user}}
	big := strings.Repeat("x", notification.MaxDataBytes)
	for i, tc := range []struct {
		name, reason string
		data         []byte
	}{
		{"two audiences", "malformed", announce(t, map[string]any{"users": []string{user}, "all": true}, nil)},
		{"users and groups", "malformed", announce(t, map[string]any{"users": []string{user}, "groups": []string{group}}, nil)},
		{"reserved type", "malformed", announce(t, users, map[string]any{"type": "video_complete"})},
		{"reset type", "malformed", announce(t, users, map[string]any{"type": "reset"})},
		{"bad user id", "malformed", announce(t, map[string]any{"users": []string{user, "u:*"}}, nil)},
		{"bad group id", "malformed", announce(t, map[string]any{"groups": []string{group, "{g}"}}, nil)},
		{"all false", "malformed", announce(t, map[string]any{"all": false}, nil)},
		{"http link", "malformed", announce(t, users, map[string]any{"link": "http://status.example/m/1"})},
		{"unknown severity", "malformed", announce(t, users, map[string]any{"severity": "fatal"})},
		{"no title", "malformed", announce(t, users, map[string]any{"title": nil})},
		{"over 64 KiB", "malformed", announce(t, users, map[string]any{"body": big})},
		{"not JSON", "malformed", []byte("Maintenance tonight")},
		{"already expired", "expired", announce(t, map[string]any{"groups": []string{group}}, map[string]any{"expires_at": "2020-01-01T00:00:00Z"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := len(stored(t, b, broker.Everyone))
			before := rejected(t, tc.reason)
			if got := deliverTo(t, publishURL, fmt.Sprintf("pr-%d-%s", i, run), tc.data); got/100 != 2 {
				t.Fatalf("status %d, want 2xx", got)
			}
			for _, s := range []string{user, broker.GroupSource(group)} {
				if n := len(stored(t, b, s)); n != 0 {
					t.Errorf("refused input stored %d notifications in %s", n, s)
				}
			}
			if n := len(stored(t, b, broker.Everyone)); n != all {
				t.Errorf("refused input grew the broadcast log from %d to %d", all, n)
			}
			if got := rejected(t, tc.reason); got != before+1 {
				t.Errorf("rejected{Publish,%s} went from %v to %v, want +1", tc.reason, before, got)
			}
		})
	}
}
