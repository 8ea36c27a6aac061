// Package system holds no code: its sub-packages are what spans both deployables and
// never ships — the local single-process system (cmd/local), the load tool
// (cmd/loadtest) and the whole-system suites (e2e, faults, browser). Keeping them in their
// own module keeps their dependencies (chromedp, gonum, pstest) out of the production
// modules' go.mod files.
package system
