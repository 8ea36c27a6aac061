package redisbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/notification"
)

// Export is everything stored about one user (GET /api/v1/notifications/export): read
// from every key under the user's hash tag, found by SCAN, so a key of a kind this
// file does not know still shows up (Other) instead of being left out silently.
type Export struct {
	User string `json:"user"`
	// Notifications of the user's own log, then of the group and broadcast logs the
	// caller reads, oldest first per log.
	Notifications []ExportItem `json:"notifications"`
	// Read and Seen: per log (source name), the watermark and the ids marked one by one.
	Read     map[string]*ExportMarks `json:"read"`
	Seen     map[string]*ExportMarks `json:"seen"`
	Archived map[string][]string     `json:"archived"`
	// Receipts: the first seen and read times per notification id.
	Receipts    map[string]ExportReceipt `json:"receipts"`
	Preferences json.RawMessage          `json:"preferences"`
	// PushSubscriptions are the endpoints only, never the keys; Devices the platforms
	// only, never the registration tokens.
	PushSubscriptions []string       `json:"push_subscriptions"`
	Devices           []ExportDevice `json:"devices"`
	Groups            []ExportGroup  `json:"groups"`
	OpenStreams       int64          `json:"open_streams"`
	DeliveryMarkers   int            `json:"delivery_markers"`
	Other             []string       `json:"other,omitempty"`
}

// ExportItem is one stored notification (the SSE data JSON) and the log holding it.
type ExportItem struct {
	Log          string          `json:"log"`
	Notification json.RawMessage `json:"notification"`
}

// ExportMarks is a read or seen watermark ("every id up to"), the ids after it, and
// (read only) the ids before it made unread again.
type ExportMarks struct {
	UpTo   string   `json:"up_to,omitempty"`
	IDs    []string `json:"ids"`
	Unread []string `json:"unread,omitempty"`
}

// ExportReceipt holds first times, RFC 3339 (empty for not yet).
type ExportReceipt struct {
	SeenAt string `json:"seen_at,omitempty"`
	ReadAt string `json:"read_at,omitempty"`
}

// ExportDevice is one registered device, without its token.
type ExportDevice struct {
	Platform string `json:"platform"`
}

// ExportGroup is a recorded membership and when a token last showed it.
type ExportGroup struct {
	Group    string `json:"group"`
	LastSeen string `json:"last_seen"`
}

// exportedKinds says how Export covers each kind rediskey.Kinds lists as personal: a
// test fails when a kind is personal and missing here.
var exportedKinds = map[string]string{
	"Log":               "notifications",
	"Seen":              "delivery_markers (a count: they hold message ids only)",
	"Presence":          "open_streams",
	"PushSubscriptions": "push_subscriptions (endpoints)",
	"PushQueue":         "not exported: pushes under way, deleted once sent (seconds)",
	"ReadIDs":           "read", "ReadUpTo": "read", "ReadIDsIn": "read", "ReadUpToIn": "read",
	"UnreadIDs":     "read (unread: the ids read by the watermark and made unread again)",
	"Prefs":         "preferences",
	"SeenIDs":       "seen",
	"SeenUpTo":      "seen",
	"Archived":      "archived",
	"Receipts":      "receipts",
	"GroupReceipts": "receipts (the same times, kept per group notification)",
	"Members":       "groups (the same memberships, kept per group)",
	"MembersSeen":   "groups (the same memberships, kept per group)",
	"UserGroups":    "groups",
	"PushDevices":   "devices (platforms)",
	"FCMQueue":      "not exported: app pushes under way, deleted once sent (seconds)",
	"PushWindow":    "not exported: a push coalescing window (counts, a few minutes)",
	"PushDue":       "not exported: when a held push summary is due",
	"QuietHeld":     "not exported: pushes held during quiet hours (a count and ids, until the hours end)",
	"QuietDue":      "not exported: when a quiet-hours summary is due",
	"ScheduleItems": "not exported: scheduled announcements, whose audience may name the user (sent within 30 days)",
	"Room":          "not exported: a room's members and messages (messages kept 24 h; PRIVACY.md)",
}

// Export gathers everything stored about userID; logs are the group and broadcast
// logs whose notifications to include (those the caller's token reads).
func (p *Privacy) Export(ctx context.Context, userID string, logs []string) (Export, error) {
	keys, err := p.userKeys(ctx, userID)
	if err != nil {
		return Export{}, err
	}
	ex := Export{User: userID, Notifications: []ExportItem{}, Read: map[string]*ExportMarks{}, Seen: map[string]*ExportMarks{},
		Archived: map[string][]string{}, Receipts: map[string]ExportReceipt{}, Preferences: json.RawMessage("null"),
		PushSubscriptions: []string{}, Devices: []ExportDevice{}, Groups: []ExportGroup{}}
	tag := p.names.Prefix + ":{" + userID + "}:"
	for _, key := range keys {
		if err := p.exportKey(ctx, &ex, userID, strings.TrimPrefix(key, tag)); err != nil {
			return Export{}, fmt.Errorf("export %s: %w", key, err)
		}
	}
	for _, source := range logs {
		if err := p.exportLog(ctx, &ex, source); err != nil {
			return Export{}, err
		}
	}
	return ex, nil
}

// userKeys returns every key under userID's hash tag, sorted. On a cluster the tag's
// slot lives on one master: the SCAN runs there.
func (p *Privacy) userKeys(ctx context.Context, userID string) ([]string, error) {
	pattern := p.names.UserPattern(userID)
	var node redis.Cmdable = p.rdb
	if c, ok := p.rdb.(*redis.ClusterClient); ok {
		m, err := c.MasterForKey(ctx, p.names.Log(userID))
		if err != nil {
			return nil, fmt.Errorf("find the shard of %s: %w", p.names.Log(userID), err)
		}
		node = m
	}
	var out []string
	iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", pattern, err)
	}
	sort.Strings(out)
	return out, nil
}

// exportKey adds one key of the user's to ex; rest is its name after the hash tag.
func (p *Privacy) exportKey(ctx context.Context, ex *Export, user, rest string) error {
	key := p.names.Prefix + ":{" + user + "}:" + rest
	kind, source, _ := strings.Cut(rest, ":")
	if source == "" && (kind == "read" || kind == "readupto") {
		source = user
	}
	marks := func(m map[string]*ExportMarks) *ExportMarks {
		if m[source] == nil {
			m[source] = &ExportMarks{IDs: []string{}}
		}
		return m[source]
	}
	switch kind {
	case "log":
		return p.exportLog(ctx, ex, user)
	case "unread":
		ids, err := p.rdb.ZRange(ctx, key, 0, -1).Result()
		marks(ex.Read).Unread = ids
		return err
	case "read", "seen", "archived":
		if kind == "seen" && p.rdb.Type(ctx, key).Val() == "string" {
			ex.DeliveryMarkers++ // a dedupe marker: Seen(user, messageID)
			return nil
		}
		ids, err := p.rdb.ZRange(ctx, key, 0, -1).Result()
		switch kind {
		case "read":
			marks(ex.Read).IDs = ids
		case "seen":
			marks(ex.Seen).IDs = ids
		default:
			ex.Archived[source] = ids
		}
		return err
	case "readupto", "seenupto":
		v, err := p.rdb.Get(ctx, key).Result()
		upTo, _, _ := strings.Cut(v, " ")
		if kind == "readupto" {
			marks(ex.Read).UpTo = upTo
		} else {
			marks(ex.Seen).UpTo = upTo
		}
		return ignoreNil(err)
	case "prefs":
		v, err := p.rdb.Get(ctx, key).Bytes()
		if json.Valid(v) {
			ex.Preferences = v
		}
		return ignoreNil(err)
	case "push":
		eps, err := p.rdb.HKeys(ctx, key).Result()
		ex.PushSubscriptions = append(ex.PushSubscriptions, eps...)
		return err
	case "fcm":
		vals, err := p.rdb.HVals(ctx, key).Result()
		for _, v := range vals {
			var d ExportDevice
			_ = json.Unmarshal([]byte(v), &d) // the platform, or "" for a record of another shape
			ex.Devices = append(ex.Devices, d)
		}
		return err
	case "rcpt":
		all, err := p.rdb.HGetAll(ctx, key).Result()
		for id, v := range all {
			seen, read, ok := parseReceipt(v)
			if strings.HasPrefix(id, "~") || !ok {
				continue // a mark-all watermark, not a receipt
			}
			ex.Receipts[id] = ExportReceipt{SeenAt: msStamp(seen), ReadAt: msStamp(read)}
		}
		return err
	case "groups":
		zs, err := p.rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		for _, z := range zs {
			// Members lists sources: "@<group>", and "!all" (everyone, not a group).
			if g, ok := strings.CutPrefix(fmt.Sprint(z.Member), "@"); ok {
				ex.Groups = append(ex.Groups, ExportGroup{Group: g, LastSeen: msStamp(int64(z.Score))})
			}
		}
		return err
	case "conns":
		n, err := p.rdb.ZCard(ctx, key).Result()
		ex.OpenStreams = n
		return err
	}
	ex.Other = append(ex.Other, rest)
	return nil
}

// exportLog adds every notification source's log holds.
func (p *Privacy) exportLog(ctx context.Context, ex *Export, source string) error {
	entries, err := p.rdb.XRange(ctx, p.names.Log(source), "-", "+").Result()
	if err != nil {
		return fmt.Errorf("export %s: %w", p.names.Log(source), err)
	}
	for _, e := range entries {
		body, _ := e.Values["n"].(string)
		if !json.Valid([]byte(body)) {
			continue
		}
		ex.Notifications = append(ex.Notifications,
			ExportItem{Log: source, Notification: notification.WithID(broker.ItemPrefix(source)+e.ID, []byte(body))})
	}
	return nil
}

func msStamp(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func ignoreNil(err error) error {
	if err == redis.Nil {
		return nil
	}
	return err
}
