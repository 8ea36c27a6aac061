package webpush

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// dispatch starts handling msgs, using the taken slots and giving back the rest. One
// user's entries are decided one after another in queue order (so the first of a burst
// is the one pushed at once, and a summary counts in order), different users' at the
// same time. Sending, which may be retried for minutes, runs apart from deciding. An
// entry already being handled here (reclaimed from ourselves) is skipped.
func (w *Worker) dispatch(ctx, hctx context.Context, handlers *sync.WaitGroup, msgs []redis.XMessage, taken int) {
	for i := range taken {
		if i >= len(msgs) || !w.begin(msgs[i].ID) {
			<-w.slots
			continue
		}
		m := msgs[i]
		user, _ := m.Values[FieldUser].(string)
		w.mu.Lock()
		queue, busy := w.waiting[user]
		w.waiting[user] = append(queue, m)
		w.mu.Unlock()
		if !busy {
			handlers.Go(func() { w.decideAll(ctx, hctx, handlers, user) })
		}
	}
}

// decideAll decides the user's waiting entries until none is left.
func (w *Worker) decideAll(ctx, hctx context.Context, handlers *sync.WaitGroup, user string) {
	for {
		w.mu.Lock()
		queue := w.waiting[user]
		if len(queue) == 0 {
			delete(w.waiting, user)
			w.mu.Unlock()
			return
		}
		m := queue[0]
		w.waiting[user] = queue[1:]
		w.mu.Unlock()
		j, send, done := w.decide(hctx, m)
		if !send {
			w.finish(m.ID, done)
			continue
		}
		handlers.Go(func() { w.finish(m.ID, w.deliver(ctx, hctx, j)) })
	}
}

// finish acknowledges a finished entry and frees its slot; an unfinished one stays
// pending for a later reclaim.
func (w *Worker) finish(id string, done bool) {
	if done {
		w.ack(id)
		w.stats.handled.Add(1)
	}
	w.mu.Lock()
	delete(w.inFlight, id)
	w.mu.Unlock()
	<-w.slots
}

func (w *Worker) begin(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, busy := w.inFlight[id]; busy {
		return false
	}
	w.inFlight[id] = struct{}{}
	return true
}

// ack acknowledges and deletes a handled entry, even during shutdown.
func (w *Worker) ack(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, w.opts.Queue, w.opts.Group, id)
		p.XDel(ctx, w.opts.Queue, id)
		return nil
	})
	if err != nil {
		w.log.Warn("ack push queue entry", slog.String("entry_id", id), slog.Any("error", err))
	}
}

// takeSlots blocks for one free handler slot, then takes up to 99 more without waiting.
func (w *Worker) takeSlots(ctx context.Context) int {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < 100 && w.tryTakeSlot() {
		n++
	}
	return n
}

func (w *Worker) tryTakeSlot() bool {
	select {
	case w.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// pause logs a Redis failure and waits a second before the loop tries again.
func (w *Worker) pause(ctx context.Context, what string, err error) {
	w.log.WarnContext(ctx, what, slog.Any("error", err))
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}
