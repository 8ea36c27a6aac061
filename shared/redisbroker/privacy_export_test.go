package redisbroker

import "time"

// SetPrivacyClock replaces the clock p stamps receipts and memberships with.
func SetPrivacyClock(p *Privacy, now func() time.Time) { p.now = now }

// ExportedKinds is how Export covers each personal key kind, for the test that checks
// it against rediskey.Kinds.
func ExportedKinds() map[string]string { return exportedKinds }

// SetReceiptPruneAt changes the receipts-hash size past which marks prune, and returns
// a function restoring it.
func SetReceiptPruneAt(n int64) func() {
	old := receiptPruneAt
	receiptPruneAt = n
	return func() { receiptPruneAt = old }
}
