// Package presence records which user has how many open streams on which instance, in
// storage all instances share, and enforces the global per-user connection cap with it.
//
// Liveness is kept per instance, not per connection. A connection's entry is named
// "<instance>/<seq>" and counts for TTL after it was admitted; after that it counts
// only while its instance holds a lease, which the instance renews for all of its
// connections at once (Refresh: one write per instance every TTL/3, whatever the number
// of connections). An instance that dies stops renewing: within TTL its lease and the
// grace of its newest entries have run out, and its entries stop counting — the next
// Acquire of each of those users removes them, and an entry nobody removes goes with
// its user's key (KeyTTL, extended for live users by a slow sweep in Refresh).
//
// The trade-off, for Redis Cluster: one user's keys share the hash tag {user}, so the
// admit script touches one slot only, and the leases live in a key of their own that
// no script reads. Acquire and Count read the user's entries, judge those past their
// own TTL by a snapshot of the leases at most leaseAge old (one read per leaseAge per
// process), and Acquire passes the gone ones to the script, which removes them and
// decides under the cap atomically. What the script is given may be a round trip (or,
// for leases, leaseAge) old; that errs on the safe side only: an entry whose instance
// died in that instant still counts a moment longer, and entries added meanwhile count
// (the script sees them). Acquire costs two round trips instead of one — at stream
// open, a few per second per instance — and Count one, as before, while an idle
// connection costs no command at all but its user's share of the key sweep.
package presence

import (
	"strings"
	"time"
)

// TTL bounds how long a dead instance's connections still count: an entry counts TTL
// after its admission, and after that while its instance's lease, renewed to TTL ahead
// by every Refresh (instances call it every TTL/3), has not run out.
const TTL = 30 * time.Second

// KeyTTL is the life of a user's key without an Acquire or a sweep: it only collects the
// entries of instances that died (their users may never come back). A stream may live
// longer than KeyTTL (MAX_CONN_AGE has no ceiling), so Refresh extends the keys of the
// users it lists, one KeySweep-th of them per call: with a refresh every 10 s, each key
// every 20 minutes, three times per KeyTTL.
const (
	KeyTTL   = time.Hour
	KeySweep = 120
)

// instanceOf returns the instance part of a connection's name "<instance>/<seq>"
// (a name without "/" is an instance of its own).
func instanceOf(conn string) string {
	if i := strings.LastIndexByte(conn, '/'); i >= 0 {
		return conn[:i]
	}
	return conn
}
