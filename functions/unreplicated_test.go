package notify

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// unreplicated reads notify_unreplicated_total from the default registry, where the
// production handlers count.
func unreplicated(t *testing.T) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "notify_unreplicated_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("notify_unreplicated_total not exported")
	return 0
}

// TestUnreplicatedCountedOverHTTP: the test Redis has no replica, so with the default
// REDIS_REPLICA_ACKS=1 a stored notification is acknowledged without waiting and
// counted as unreplicated.
func TestUnreplicatedCountedOverHTTP(t *testing.T) {
	before := unreplicated(t)
	id := "unrep-" + runID()
	if got := post(t, recorded(t, "binary-mode.http", func(s string) string {
		return strings.ReplaceAll(s, "12165864188103151", id)
	})); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	if after := unreplicated(t); after != before+1 {
		t.Errorf("notify_unreplicated_total went from %v to %v, want +1", before, after)
	}
}
