//go:build race

package faults

// raceEnabled: the race detector slows every goroutine switch several-fold, so timing
// comparisons are not asserted under it (make test-faults runs them without).
const raceEnabled = true
