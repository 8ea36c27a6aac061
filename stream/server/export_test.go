package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker/brokertest"
)

// TestSecurityExportOnlyCallersData: the export is the token's user's, whatever the
// request says; another user's notifications, read state or groups never appear, and
// push subscription keys never do.
func TestSecurityExportOnlyCallersData(t *testing.T) {
	t.Parallel()
	e := newPrivacyEnv(t)
	amyTok, bobTok := roomToken(t, "amy", time.Hour, false, "class7"), roomToken(t, "bob-secret", time.Hour, false, "class9")
	amyOwn := e.publish("amy")
	n := brokertest.Sample(1)
	n.Title = "only-for-bob"
	if _, _, err := e.pub.Publish(context.Background(), "bob-secret", "msg-bob", n); err != nil {
		t.Fatal(err)
	}
	e.publishTo("class7")
	e.publishTo("class9")
	for _, tok := range []string{amyTok, bobTok} {
		c, status := e.tryOpen(tok, "", "")
		if status != http.StatusOK {
			t.Fatalf("open: %d", status)
		}
		c.close()
	}
	if st, _ := e.as(bobTok, "POST", "/api/v1/notifications/read", `{"all":true}`); st != http.StatusNoContent {
		t.Fatalf("read: %d", st)
	}
	if st, _ := e.as(amyTok, "POST", "/api/v1/notifications/read", `{"ids":["`+amyOwn+`"]}`); st != http.StatusNoContent {
		t.Fatalf("read: %d", st)
	}
	for _, path := range []string{"/api/v1/notifications/export", "/api/v1/notifications/export?user=bob-secret",
		"/api/v1/notifications/export?sub=bob-secret&groups=class9"} {
		st, body := e.as(amyTok, "GET", path, "")
		if st != http.StatusOK {
			t.Fatalf("%s: %d %s", path, st, body)
		}
		for _, foreign := range []string{"bob-secret", "class9", "only-for-bob"} {
			if strings.Contains(body, foreign) {
				t.Errorf("%s: amy's export holds %q: %s", path, foreign, body)
			}
		}
		for _, mine := range []string{`"user":"amy"`, amyOwn, `"group":"class7"`} {
			if !strings.Contains(body, mine) {
				t.Errorf("%s: amy's export lacks %q: %s", path, mine, body)
			}
		}
	}
	if st, _ := e.as("", "GET", "/api/v1/notifications/export", ""); st != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", st)
	}
}

// TestReceiptsAndExportNeedTheStore: without a privacy store (the local in-process run)
// both answer 501, a JSON error, rather than an empty answer that would look complete.
func TestReceiptsAndExportNeedTheStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := roomToken(t, "mrs-t", time.Hour, true, "class7")
	for _, path := range []string{"/api/v1/notifications/export", "/api/v1/receipts?notification=@class7:1-0"} {
		if st, body := e.as(tok, "GET", path, ""); st != http.StatusNotImplemented || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s: %d %s, want 501", path, st, body)
		}
	}
}
