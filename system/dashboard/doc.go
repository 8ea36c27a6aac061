// Package dashboard checks dashboards/notifications.json, the Grafana dashboard, against
// the metrics running binaries export; its test also starts two bin/stream on one host
// with METRICS_ADDR unset (issue 30 A2, B6).
package dashboard
