package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
)

// publishAnnouncement stores an announcement-shaped notification of type typ for user.
func (e *env) publishAnnouncement(user, typ string, mandatory bool) string {
	e.t.Helper()
	n := notification.Notification{Type: notification.Type(typ), Severity: notification.SeverityWarning,
		Title: "Exam moved to 8:00", CreatedAt: notification.Timestamp{Time: time.Now()}, Mandatory: mandatory}
	id, _, err := e.pub.Publish(context.Background(), user, fmt.Sprint("ann-", msgSeq.Add(1)), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// TestMandatoryIgnoresMutes: with its type muted, an ordinary notification is skipped
// and a mandatory one is sent, live and on replay, and its data says mandatory.
func TestMandatoryIgnoresMutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	muted := `{"muted_types":["exam_moved"],"push":true,"push_muted_types":[],"quiet_hours":null}`
	e.putPrefs("pma", muted, muted)
	c := e.open("pma", "", "")
	start := e.publish("pma")
	c.events(1)
	e.publishAnnouncement("pma", "exam_moved", false)
	must := e.publishAnnouncement("pma", "exam_moved", true)
	f := c.events(1)[0]
	if f.id != must || f.event != "exam_moved" || !strings.Contains(f.data, `"mandatory":true`) {
		t.Fatalf("live: got %+v, want only the mandatory %s", f, must)
	}
	r := e.open("pma", start, "")
	if f := r.events(1)[0]; f.id != must {
		t.Fatalf("replay: got %+v, want only the mandatory %s", f, must)
	}
}
