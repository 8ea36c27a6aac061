package notifier

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// Handle processes one decoded CloudEvent the way ServeHTTP does after reading it
// (eventarc.DecodeEventDelivery, then process), so the tests can state their events
// as event.Event values; a returned error is ServeHTTP's 5xx.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	start := h.now()
	d, err := eventarc.DecodeEventDelivery(e)
	return h.process(ctx, start, d, err, e.ID())
}
