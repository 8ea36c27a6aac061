// Package brokertest is the contract every broker implementation passes: the same
// suite runs against broker.Memory and the Redis broker. Each clause of the contract
// (the method comments of broker.Broker's parts) is one named test function; Run runs them all.
package brokertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
)

// MaxLen is the log length the factory must configure, so trimming is testable.
const MaxLen = 5

// Factory returns a fresh, isolated broker with broker.Limits.MaxLen == MaxLen that
// implements Planter. It registers its own cleanup with t.
type Factory func(t *testing.T) broker.Broker

// clauses are the contract, one test per clause.
var clauses = []struct {
	name string
	test func(*testing.T, Factory)
}{
	{"live delivery reaches only the subscribed user", liveDeliveryReachesOnlySubscribed},
	{"duplicate message id is stored and delivered once", duplicateStoredAndDeliveredOnce},
	{"ids grow and replay is ordered and paged", idsGrowAndReplayIsPaged},
	{"resume rules", resumeRules},
	{"cursor lost in a failover", cursorLostInFailover},
	{"range pages what is held", rangePagesWhatIsHeld},
	{"unsubscribe stops live delivery", unsubscribeStopsLiveDelivery},
	{"cancelled subscribe returns and a later one works", cancelledSubscribe},
	{"run returns nil when its context ends", runEndsWithContext},
	{"ready", readyWhenRunning},
	{"group and broadcast logs are separate logs", sourcesAreSeparateLogs},
	{"read state of group and broadcast notifications is per user", readStateOfSharedLogs},
	{"heads are the newest positions", headsAreTheNewestPositions},
	{"undecodable entries are skipped", undecodableEntriesAreSkipped},
}

// Run runs every clause of the contract against brokers made by newBroker.
func Run(t *testing.T, newBroker Factory) {
	for _, c := range slices.Concat(clauses, readClauses, prefsClauses, inboxClauses, unreadClauses) {
		t.Run(c.name, func(t *testing.T) { c.test(t, newBroker) })
	}
}

// fixture is one running broker: Run delivers to rec until the test ends.
type fixture struct {
	t   *testing.T
	b   broker.Broker
	rec *Recorder
	ctx context.Context
	seq int // numbers publishN's messages
}

// start makes a broker with newBroker and runs it until t ends.
func start(t *testing.T, newBroker Factory) *fixture {
	t.Helper()
	return startWith(t, newBroker(t))
}

// startWith runs b until t ends; Run must then return nil.
func startWith(t *testing.T, b broker.Broker) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rec := NewRecorder()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, rec) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &fixture{t: t, b: b, rec: rec, ctx: context.Background()}
}

// publish stores Sample(i) for user under msgID and returns its id; it must be new.
func (f *fixture) publish(user, msgID string, i int) string {
	f.t.Helper()
	id, dup, err := f.b.Publish(f.ctx, user, msgID, Sample(i))
	if err != nil || dup {
		f.t.Fatalf("Publish(%s, %s) = %q, %v, %v", user, msgID, id, dup, err)
	}
	return id
}

// subscribe subscribes user, failing the test after 5 s.
func (f *fixture) subscribe(user string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := f.b.Subscribe(ctx, user); err != nil {
		f.t.Fatalf("Subscribe(%s): %v", user, err)
	}
}
