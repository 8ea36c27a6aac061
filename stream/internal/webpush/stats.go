package webpush

import "sync/atomic"

// Stats counts what a Worker did since it started, for /metrics.
type Stats struct {
	Handled       uint64 // queue entries finished (acknowledged)
	SkippedOnline uint64 // user had an open stream
	SkippedPrefs  uint64 // push off, type muted or notification expired
	NoSubs        uint64 // user has no subscription
	Held          uint64 // counted into a window's summary instead of sent
	Summaries     uint64 // summary entries queued
	Sent          uint64 // pushes a push service accepted
	Gone          uint64 // subscriptions removed on 404/410 (or made with a retired VAPID key)
	Failed        uint64 // pushes refused (4xx) or given up after RetryFor
	Retries       uint64 // attempts repeated after 429/5xx/network errors
	Reclaimed     uint64 // entries taken over from a dead consumer
	Invalid       uint64 // entries dropped as malformed
	QuietHeld     uint64 // held for the user's quiet hours
	QuietSummary  uint64 // summaries of quiet hours sent (to one user's subscriptions)
	// SentPreviousKey counts the pushes of Sent signed with VAPID_PREVIOUS_*: a
	// rotation is over when it stops growing (docs/RUNBOOK.md).
	SentPreviousKey uint64
	// HandedOff counts pushes decided here and queued for the FCM Worker.
	HandedOff uint64
	// Fanouts counts group and broadcast entries turned into fan-out jobs.
	Fanouts uint64
}

type counters struct {
	handled, online, prefs, noSubs, held, summaries, sent, gone, failed, retries, reclaimed, invalid atomic.Uint64
	previousKey, quietHeld, quietSummary, handedOff, fanouts                                         atomic.Uint64
}

// Stats returns the counters so far.
func (w *Worker) Stats() Stats {
	c := &w.stats
	return Stats{Handled: c.handled.Load(), SkippedOnline: c.online.Load(), SkippedPrefs: c.prefs.Load(),
		NoSubs: c.noSubs.Load(), Held: c.held.Load(), Summaries: c.summaries.Load(), Sent: c.sent.Load(),
		Gone: c.gone.Load(), Failed: c.failed.Load(), Retries: c.retries.Load(),
		Reclaimed: c.reclaimed.Load(), Invalid: c.invalid.Load(), SentPreviousKey: c.previousKey.Load(),
		QuietHeld: c.quietHeld.Load(), QuietSummary: c.quietSummary.Load(),
		HandedOff: c.handedOff.Load(), Fanouts: c.fanouts.Load()}
}
