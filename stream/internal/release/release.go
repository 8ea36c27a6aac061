// Package release releases scheduled notifications (send_at) when they are due: every
// stream instance polls the shared schedule, claims what is due with a short lease and
// publishes it through the broker's ordinary write path, under the scheduling
// message's Pub/Sub id. That id is the dedupe key of every log written, so a release
// repeated — by a second instance after a lease ran out, or after a crash between the
// writes and Done — stores nothing twice: each notification is delivered once.
package release

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
)

// Options tune a Releaser; zero values get the defaults shown.
type Options struct {
	// Every is how often the schedule is polled: 250ms, so a notification is out well
	// within a second of its time.
	Every time.Duration
	// Lease is how long a claimed item is left to its claimer: 400ms. A release is
	// idempotent, so a lease that runs out during a slow release costs a repeated
	// (deduplicated) write, never a duplicate; a short lease bounds how late the items
	// of an instance that died are.
	Lease time.Duration
	// Batch is how many items one poll claims: 100.
	Batch int
	// Concurrency bounds the writes under way: 8.
	Concurrency int
	Now         func() time.Time
	Log         *slog.Logger
}

// Stats count what a Releaser did.
type Stats struct {
	Released   uint64 // items published to every log of their audience
	Duplicates uint64 // writes a log already had (a repeated release)
	Expired    uint64 // items whose expires_at passed before their time: dropped
	Failed     uint64 // writes that failed: the item is released again after its lease
}

// Releaser polls a Schedule. Run it once per instance; instances share the work.
type Releaser struct {
	sched broker.Schedule
	pub   broker.Publisher
	opts  Options

	released, duplicates, expired, failed atomic.Uint64
}

// New returns a Releaser; it does nothing until Run.
func New(sched broker.Schedule, pub broker.Publisher, opts Options) *Releaser {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Every, 250*time.Millisecond)
	def(&opts.Lease, 400*time.Millisecond)
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Releaser{sched: sched, pub: pub, opts: opts}
}

// Stats returns the counters so far.
func (r *Releaser) Stats() Stats {
	return Stats{Released: r.released.Load(), Duplicates: r.duplicates.Load(), Expired: r.expired.Load(), Failed: r.failed.Load()}
}

// Run polls until ctx ends and returns once the releases under way have ended. A
// full batch is followed at once by another poll, so a burst due at one time drains
// at the speed of the writes, not of the ticker.
func (r *Releaser) Run(ctx context.Context) {
	tick := time.NewTicker(r.opts.Every)
	defer tick.Stop()
	for {
		n, err := r.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			r.opts.Log.WarnContext(ctx, "poll the schedule", slog.Any("error", err))
		}
		if n == r.opts.Batch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Poll claims the items due now and releases them; it returns how many it claimed.
func (r *Releaser) Poll(ctx context.Context) (int, error) {
	now := r.opts.Now()
	items, err := r.sched.Claim(ctx, now, r.opts.Lease, r.opts.Batch)
	if err != nil {
		return 0, err
	}
	// Writes of all the claimed items share Concurrency workers; each item is done
	// once all its writes are.
	type write struct {
		item   int
		source string
	}
	writes := make(chan write)
	pending := make([]atomic.Int64, len(items))
	bad := make([]atomic.Bool, len(items))
	var wg sync.WaitGroup
	for range r.opts.Concurrency {
		wg.Go(func() {
			for w := range writes {
				r.write(ctx, &items[w.item], w.source, &bad[w.item])
				if pending[w.item].Add(-1) == 0 {
					r.finish(ctx, items[w.item], bad[w.item].Load())
				}
			}
		})
	}
	for i := range items {
		c := &items[i]
		if c.Notification.ExpiresAt != nil && !now.Before(c.Notification.ExpiresAt.Time) || len(c.Sources) == 0 {
			r.expired.Add(1)
			if err := r.sched.Done(context.WithoutCancel(ctx), *c); err != nil {
				r.opts.Log.WarnContext(ctx, "drop expired scheduled notification", slog.String("schedule_item", c.Key), slog.Any("error", err))
			}
			continue
		}
		pending[i].Store(int64(len(c.Sources)))
	}
feed:
	for i := range items {
		if pending[i].Load() == 0 {
			continue
		}
		for _, s := range items[i].Sources {
			select {
			case writes <- write{i, s}:
			case <-ctx.Done():
				break feed // the rest is released by another instance after the lease
			}
		}
	}
	close(writes)
	wg.Wait()
	return len(items), nil
}

// write publishes item c to one log, noting a failure in bad.
func (r *Releaser) write(ctx context.Context, c *broker.Claimed, source string, bad *atomic.Bool) {
	_, dup, err := r.pub.Publish(ctx, source, c.MessageID, c.Notification)
	switch {
	case err != nil:
		bad.Store(true)
		r.failed.Add(1)
		r.opts.Log.WarnContext(ctx, "release scheduled notification", slog.String("schedule_item", c.Key), slog.Any("error", err))
	case dup:
		r.duplicates.Add(1)
	}
}

// finish marks c done unless a write failed (then it is released again once its
// lease runs out).
func (r *Releaser) finish(ctx context.Context, c broker.Claimed, failed bool) {
	if failed {
		return
	}
	if err := r.sched.Done(context.WithoutCancel(ctx), c); err != nil {
		r.opts.Log.WarnContext(ctx, "mark scheduled notification released", slog.String("schedule_item", c.Key), slog.Any("error", err))
		return
	}
	r.released.Add(1)
}
