package notifier

import (
	"log/slog"
	"time"
)

// Handlers are the two entry points' handlers over one broker and one set of metrics.
type Handlers struct {
	Notify, Publish *Handler
}

// Build wires both entry points as cfg says (event age limit, summary interval): the
// deployed function (functions/notify.go) and the local system (system/cmd/local) both
// build them here, so neither drops a setting. publishOpts add what the deployment has
// beside the broker (a schedule for send_at, an eraser for erase_user).
func Build(cfg Config, pub Publisher, log *slog.Logger, m *Metrics, publishOpts ...Option) (Handlers, error) {
	var h Handlers
	var err error
	if h.Notify, err = New(pub, log, m, time.Now, cfg.MaxEventAge, WithSummaryInterval(cfg.LogSummaryInterval)); err != nil {
		return Handlers{}, err
	}
	opts := append([]Option{WithSummaryInterval(cfg.LogSummaryInterval)}, publishOpts...)
	if h.Publish, err = NewPublish(pub, log, m, time.Now, cfg.MaxEventAge, opts...); err != nil {
		return Handlers{}, err
	}
	return h, nil
}
