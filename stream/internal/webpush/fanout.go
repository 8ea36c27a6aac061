package webpush

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
)

// Fanout turns a group's or everyone's queue entry into one entry per member
// (audience.Fanout does, paced and resumable).
type Fanout interface {
	// Start records the fan-out of data to source's members for queue entry id;
	// starting the same id again does nothing.
	Start(ctx context.Context, id, source string, data []byte) error
	// Run does the recorded fan-outs until ctx ends.
	Run(ctx context.Context)
}

// fanOut handles m when it is a group's or the broadcast log's entry: ok reports that
// it was one. It is done once the fan-out is recorded; a Redis error leaves it pending.
func (w *Worker) fanOut(ctx context.Context, m redis.XMessage) (send, done, ok bool) {
	source, _ := m.Values[FieldUser].(string)
	if w.opts.Fanout == nil || broker.IsUserSource(source) || !broker.ValidSource(source) {
		return false, false, false
	}
	data, _ := m.Values[FieldNotification].(string)
	if data == "" {
		w.stats.invalid.Add(1)
		return false, true, true
	}
	if err := w.opts.Fanout.Start(ctx, m.ID, source, []byte(data)); err != nil {
		w.log.Warn("push: fan-out", slog.String("entry_id", m.ID), slog.String("source", broker.SourceKind(source)),
			slog.Any("error", err))
		return false, false, true
	}
	w.stats.fanouts.Add(1)
	return false, true, true
}
