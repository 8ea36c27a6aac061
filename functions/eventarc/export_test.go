package eventarc

import "github.com/cloudevents/sdk-go/v2/event"

// The job decoders in one call, for the tests and fuzz targets: production decodes
// the delivery first (DecodeEventDelivery, DecodeDelivery) because an announcement
// delivery is not a job, and calls Delivery.Job only for job events.

// DecodeEvent decodes an Eventarc Pub/Sub CloudEvent carrying a job event
// (DecodeEventDelivery, then DecodeJob). Every error wraps ErrInvalid.
func DecodeEvent(e event.Event) (Message, error) {
	d, err := DecodeEventDelivery(e)
	if err != nil {
		return Message{}, err
	}
	return d.Job()
}

// DecodePush decodes a Pub/Sub push body carrying a job event (DecodeDelivery, then
// DecodeJob). Every error wraps ErrInvalid.
func DecodePush(body []byte, fallbackID string) (Message, error) {
	d, err := DecodeDelivery(body, fallbackID)
	if err != nil {
		return Message{}, err
	}
	return d.Job()
}
