package broker

import (
	"context"
	"fmt"
)

// Run delivers live notifications to sink until ctx ends. Only one Run at a time.
func (m *Memory) Run(ctx context.Context, sink Sink) error {
	m.mu.Lock()
	if m.sink != nil {
		m.mu.Unlock()
		return fmt.Errorf("broker: Run is already running")
	}
	m.sink = sink
	close(m.running)
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	m.sink = nil
	m.running = make(chan struct{})
	m.mu.Unlock()
	return nil
}

// Ready always succeeds: an in-process broker cannot be unreachable.
func (m *Memory) Ready(context.Context) error { return nil }

// Subscribe starts live delivery for source; it has started when Subscribe returns,
// which is not before Run is running.
func (m *Memory) Subscribe(ctx context.Context, source string) error {
	m.mu.Lock()
	m.subs[source] = true
	running := m.running
	m.mu.Unlock()
	select {
	case <-running:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subscribe %s: %w", source, ctx.Err())
	}
}

// Unsubscribe stops live delivery for source.
func (m *Memory) Unsubscribe(_ context.Context, source string) error {
	m.mu.Lock()
	delete(m.subs, source)
	m.mu.Unlock()
	return nil
}
