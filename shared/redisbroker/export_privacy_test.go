package redisbroker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/redisbroker"
	"github.com/vividly-edu/notifications/shared/rediskey"
)

// TestExportKnowsEveryKind fails when rediskey gains a personal kind of key that Export
// does not say how it covers.
func TestExportKnowsEveryKind(t *testing.T) {
	t.Parallel()
	covered := redisbroker.ExportedKinds()
	for _, k := range rediskey.Kinds() {
		if (k.User || k.PersonalShared) && covered[k.Method] == "" {
			t.Errorf("Export does not cover %s", k.Method)
		}
	}
}

// fillUser stores one of every kind of data about user, the way the system does where
// it can (broker, privacy store) and with plain writes for what other stores keep.
func fillUser(t *testing.T, f *privacyFixture, user, group string) (ownIDs, groupIDs []string) {
	t.Helper()
	ctx := context.Background()
	ownIDs = f.publish(t, user, 3)
	groupIDs = f.publish(t, broker.GroupSource(group), 2)
	logs := []string{broker.GroupSource(group)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.p.RecordMembership(ctx, user, []string{group}))
	must(f.b.MarkRead(ctx, user, broker.ReadMark{IDs: ownIDs[:1]}))
	must(f.p.RecordReceipts(ctx, user, broker.ReadMark{IDs: ownIDs[:1]}, true))
	must(f.b.MarkSeen(ctx, user, broker.ReadMark{All: true, Logs: logs}))
	must(f.p.RecordReceipts(ctx, user, broker.ReadMark{All: true, Logs: logs}, false))
	must(f.b.MarkRead(ctx, user, broker.ReadMark{IDs: groupIDs[:1], Logs: logs}))
	must(f.p.RecordReceipts(ctx, user, broker.ReadMark{IDs: groupIDs[:1], Logs: logs}, true))
	must(f.b.SetArchived(ctx, user, nil, ownIDs[1:2], true))
	_, err := f.b.SetPreferences(ctx, user, broker.Prefs{MutedTypes: []string{"announcement"}, Push: true})
	must(err)
	must(f.rdb.HSet(ctx, f.names.PushSubscriptions(user), "https://push.example/"+user,
		`{"endpoint":"https://push.example/`+user+`","keys":{"p256dh":"SECRET-P256DH","auth":"SECRET-AUTH"}}`).Err())
	must(f.rdb.HSet(ctx, f.names.PushDevices(user), "SECRET-FCM-TOKEN-"+user, `{"platform":"android","token":"SECRET-FCM-TOKEN"}`).Err())
	must(f.rdb.ZAdd(ctx, f.names.Presence(user), redis.Z{Score: 1, Member: "inst/1"}).Err())
	return ownIDs, groupIDs
}

// TestExportHoldsEverything: one of every kind of data about a user comes back, push
// keys and device tokens never, and nothing of another user.
func TestExportHoldsEverything(t *testing.T) {
	t.Parallel()
	f := newPrivacy(t)
	ctx := context.Background()
	own, group := fillUser(t, f, "amy", "g1")
	fillUser(t, f, "bob", "g2")
	ex, err := f.p.Export(ctx, "amy", []string{"@g1"})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(ex)
	text := string(doc)
	for _, secret := range []string{"SECRET", "bob", "g2"} {
		if strings.Contains(text, secret) {
			t.Errorf("export holds %q: %s", secret, text)
		}
	}
	if len(ex.Notifications) != 5 || ex.Notifications[0].Log != "amy" || ex.Notifications[4].Log != "@g1" {
		t.Errorf("notifications %+v", ex.Notifications)
	}
	if m := ex.Read["amy"]; m == nil || len(m.IDs) != 1 || m.IDs[0] != own[0] {
		t.Errorf("read %+v", ex.Read)
	}
	if m := ex.Seen["@g1"]; m == nil || m.UpTo == "" {
		t.Errorf("seen %+v", ex.Seen)
	}
	if len(ex.Archived["amy"]) != 1 {
		t.Errorf("archived %+v", ex.Archived)
	}
	if r := ex.Receipts[group[0]]; r.SeenAt == "" || r.ReadAt == "" || ex.Receipts[own[0]].ReadAt == "" {
		t.Errorf("receipts %+v", ex.Receipts)
	}
	if !strings.Contains(string(ex.Preferences), "announcement") || len(ex.PushSubscriptions) != 1 ||
		len(ex.Devices) != 1 || ex.Devices[0].Platform != "android" || len(ex.Groups) != 1 || ex.Groups[0].Group != "g1" ||
		ex.OpenStreams != 1 || ex.DeliveryMarkers != 3 || len(ex.Other) != 0 {
		t.Errorf("export %s", text)
	}
}
