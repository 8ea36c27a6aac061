package fcmtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// Message is the part of a v1 Message this service sends, as the stand-in read it.
type Message struct {
	Token        string
	Title, Body  string
	Data         map[string]string
	Priority     string // android.priority
	TTL          string // android.ttl, e.g. "3600s"
	CollapseKey  string // android.collapse_key
	APNsHeaders  map[string]string
	Notification json.RawMessage // data.notification parsed as JSON (the SSE data)
}

// durationRE is protobuf's Duration JSON: seconds with up to nine fractional digits, "s".
var durationRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,9})?s$`)

// fields reads a JSON object, allowing only the given members (each under its proto
// field name or lowerCamel JSON name, as protobuf's JSON parser accepts both).
func fields(raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("not an object: %s", raw)
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		ok := false
		for _, a := range allowed {
			if k == a || k == camel(a) {
				out[a], ok = v, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown field %q", k)
		}
	}
	return out, nil
}

func camel(s string) string {
	b := []byte{}
	up := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '_':
			up = true
		case up:
			b = append(b, s[i]-'a'+'A')
			up = false
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

// str reads a JSON string; a number or anything else is a type error.
func str(raw json.RawMessage, name string) (string, error) {
	if raw == nil {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s must be a string, got %s", name, raw)
	}
	return s, nil
}

func strMap(raw json.RawMessage, name string) (map[string]string, error) {
	if raw == nil {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s must map strings to strings: %s", name, raw)
	}
	return m, nil
}

func parseMessage(raw json.RawMessage) (Message, error) {
	var m Message
	top, err := fields(raw, "token", "notification", "data", "android", "apns")
	if err != nil {
		return m, err
	}
	if m.Token, err = str(top["token"], "token"); err != nil || m.Token == "" {
		return m, errors.Join(err, errors.New("message.token is required"))
	}
	if top["notification"] != nil {
		n, err := fields(top["notification"], "title", "body", "image")
		if err != nil {
			return m, fmt.Errorf("notification: %w", err)
		}
		if m.Title, err = str(n["title"], "notification.title"); err != nil {
			return m, err
		}
		if m.Body, err = str(n["body"], "notification.body"); err != nil {
			return m, err
		}
	}
	if m.Data, err = strMap(top["data"], "data"); err != nil {
		return m, err
	}
	if n, ok := m.Data["notification"]; ok {
		if !json.Valid([]byte(n)) {
			return m, errors.New("data.notification is not JSON")
		}
		m.Notification = json.RawMessage(n)
	}
	if top["android"] != nil {
		a, err := fields(top["android"], "priority", "ttl", "collapse_key")
		if err != nil {
			return m, fmt.Errorf("android: %w", err)
		}
		if m.Priority, err = str(a["priority"], "android.priority"); err != nil {
			return m, err
		}
		if m.Priority != "" && m.Priority != "HIGH" && m.Priority != "NORMAL" {
			return m, fmt.Errorf("android.priority %q is not HIGH or NORMAL", m.Priority)
		}
		if m.TTL, err = str(a["ttl"], "android.ttl"); err != nil {
			return m, err
		}
		if m.TTL != "" && !durationRE.MatchString(m.TTL) {
			return m, fmt.Errorf("android.ttl %q is not a duration string", m.TTL)
		}
		if m.CollapseKey, err = str(a["collapse_key"], "android.collapse_key"); err != nil {
			return m, err
		}
	}
	if top["apns"] != nil {
		a, err := fields(top["apns"], "headers", "payload")
		if err != nil {
			return m, fmt.Errorf("apns: %w", err)
		}
		if m.APNsHeaders, err = strMap(a["headers"], "apns.headers"); err != nil {
			return m, err
		}
		if err := checkAPNs(m.APNsHeaders); err != nil {
			return m, err
		}
	}
	return m, nil
}

// checkAPNs checks the headers as APNs does: apns-priority 10, 5 or 1, apns-expiration
// a UNIX epoch in seconds, apns-collapse-id at most 64 bytes.
func checkAPNs(h map[string]string) error {
	if p, ok := h["apns-priority"]; ok && p != "10" && p != "5" && p != "1" {
		return fmt.Errorf("apns-priority %q", p)
	}
	if e, ok := h["apns-expiration"]; ok {
		if v, err := strconv.ParseInt(e, 10, 64); err != nil || v < 0 || v > 1e11 {
			return fmt.Errorf("apns-expiration %q is not epoch seconds", e)
		}
	}
	if c := h["apns-collapse-id"]; len(c) > 64 {
		return fmt.Errorf("apns-collapse-id of %d bytes", len(c))
	}
	return nil
}
