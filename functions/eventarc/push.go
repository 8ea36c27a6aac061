package eventarc

import (
	"encoding/json"
	"time"
)

// pushMessage is the message of a Pub/Sub push body as PushBody writes it.
type pushMessage struct {
	Data        []byte `json:"data"` // encoding/json writes it as standard base64
	MessageID   string `json:"messageId,omitempty"`
	PublishTime string `json:"publishTime,omitempty"`
}

// PushBody returns a Pub/Sub push body carrying data as message.data — the body Pub/Sub
// posts to a push endpoint and the data of the CloudEvent Eventarc builds from it:
//
//	{"message":{"data":"<base64>","messageId":"…","publishTime":"…"}}
//
// An empty messageID is left out (the function then uses the CloudEvent's ce-id, as
// Eventarc sets it to the message ID), and so is a zero publishTime. Local tools (the
// demo, the load tool, make run's banner) build their deliveries with it, so they all
// send what DecodeDelivery reads.
func PushBody(data []byte, messageID string, publishTime time.Time) []byte {
	m := pushMessage{Data: data, MessageID: messageID}
	if !publishTime.IsZero() {
		m.PublishTime = publishTime.UTC().Format(time.RFC3339Nano)
	}
	if m.Data == nil {
		m.Data = []byte{} // "" rather than null: an empty message, not a missing one
	}
	b, err := json.Marshal(struct {
		Message pushMessage `json:"message"`
	}{m})
	if err != nil {
		panic("eventarc.PushBody: " + err.Error()) // a struct of strings always encodes
	}
	return b
}
