package redisbroker

import "time"

// SetPrivacyClock replaces the clock p stamps receipts and memberships with.
func SetPrivacyClock(p *Privacy, now func() time.Time) { p.now = now }

// ExportedKinds is how Export covers each personal key kind, for the test that checks
// it against rediskey.Kinds.
func ExportedKinds() map[string]string { return exportedKinds }
