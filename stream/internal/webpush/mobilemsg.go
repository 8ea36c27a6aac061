package webpush

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/vividly-edu/notifications/stream/internal/fcm"
)

// fcmBudget bounds what one FCM message carries in data plus notification text: FCM
// refuses messages over 4096 bytes, and its keys and JSON overhead take some.
const fcmBudget = 4000

// mobileMessage turns a decided Web Push message into FCM's: the same payload (the SSE
// data JSON, already fitted) as data.notification, a title and body for the system
// tray, HIGH priority where Web Push is "high", the same TTL and the window's name as
// collapse key.
func mobileMessage(m Message) fcm.Message {
	title, body := displayText(m.Payload)
	body = clip(body, fcmBudget-len(m.Payload)-len(title))
	return fcm.Message{Data: string(m.Payload), Title: title, Body: body, High: m.Urgency == UrgencyHigh,
		TTL: m.TTL, CollapseKey: m.Topic}
}

// displayText is what the phone shows: an announcement's title and body; for a video
// outcome, what happened and the video's title (the service worker does the same).
func displayText(payload []byte) (title, body string) {
	var d struct {
		Type  string `json:"type"`
		Title string `json:"title"`
		Body  string `json:"body"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal(payload, &d) // fitted JSON: it parses
	switch d.Type {
	case "video_complete":
		return "Your video is ready", d.Title
	case "video_failed":
		if d.Error != "" {
			return "Your video could not be made", d.Title + ": " + d.Error
		}
		return "Your video could not be made", d.Title
	}
	if d.Title == "" {
		return "New notification", d.Body
	}
	return d.Title, d.Body
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
