package webpush

import (
	"regexp"
	"testing"

	"github.com/vividly-edu/notifications/stream/internal/webpush/webpushtest"
)

// pushService is the loopback push-service stand-in (webpushtest) with the key the
// tests' subscriptions are made with.
type pushService struct {
	*webpushtest.Service
	vapid string
}

// hang as a scripted status makes the stand-in never answer.
const hang = webpushtest.Hang

func newPushService(t testing.TB, vapidPublic, subject string) *pushService {
	return &pushService{Service: webpushtest.New(t, subject), vapid: vapidPublic}
}

// subscribe makes a browser subscription at path under the service's VAPID key,
// answering the given statuses first (then 201).
func (p *pushService) subscribe(path string, statuses ...int) Subscription {
	return fromStandIn(p.Subscribe(path, p.vapid, statuses...))
}

func fromStandIn(s webpushtest.Subscription) Subscription {
	return Subscription{Endpoint: s.Endpoint, Keys: SubKeys{P256dh: s.P256dh, Auth: s.Auth}}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := decodeB64URL(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}

// topicRE is what RFC 8030 §5.4 allows in a Topic header.
var topicRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
