package notify

import (
	"net/http"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/vividly-edu/notifications/functions/notifier"
)

// PublishEntryPoint is the name of the entry point for notifications from other
// services (FUNCTION_TARGET=Publish): the `notifications` topic's Eventarc trigger
// delivers to it. docs/PUBLISHING.md is its contract for publishers.
const PublishEntryPoint = notifier.PublishEntryPoint

// Publish is registered like Notify: an HTTP function that reads each CloudEvent
// itself (notifier.Handler.ServeHTTP), for the reason given in notify.go.
func init() {
	functions.HTTP(PublishEntryPoint, servePublish)
}

func servePublish(w http.ResponseWriter, r *http.Request) {
	serveWith(w, r, func(h handlers) *notifier.Handler { return h.publish })
}
