package notification

import (
	"encoding/json"
	"time"
)

// CancelType is the type of the message that withdraws a scheduled notification:
// {"type":"cancel","schedule_key":"…"}. It is not a notification type.
const CancelType Type = "cancel"

// MaxScheduleKeyLen bounds a schedule_key.
const MaxScheduleKeyLen = 128

// ValidScheduleKey reports whether k may name a scheduled notification: 1-128
// characters of [A-Za-z0-9_.:-] (it becomes part of a Redis hash field).
func ValidScheduleKey(k string) bool {
	if len(k) == 0 || len(k) > MaxScheduleKeyLen {
		return false
	}
	for i := range len(k) {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// readSchedule reads send_at and schedule_key into a. How far ahead send_at may be is
// the caller's check, at its own clock (broker.MaxScheduleAhead).
func readSchedule(in announcementIn, a *Announcement) error {
	if in.SendAt != nil && *in.SendAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *in.SendAt)
		if err != nil {
			return refuse("send_at must be an RFC 3339 time")
		}
		a.SendAt = ClampTime(t)
	}
	if in.ScheduleKey != nil && *in.ScheduleKey != "" {
		if !ValidScheduleKey(*in.ScheduleKey) {
			return refuse("schedule_key must be 1-%d characters of [A-Za-z0-9_.:-]", MaxScheduleKeyLen)
		}
		if a.SendAt.IsZero() {
			return refuse("schedule_key needs send_at")
		}
		a.ScheduleKey = *in.ScheduleKey
	}
	return nil
}

// ParseCancel reports whether data is a cancel message ({"type":"cancel",…}) and, if
// so, the schedule_key it withdraws. A cancel without a valid schedule_key is refused
// (the error wraps ErrInvalid). Other fields are ignored.
func ParseCancel(data []byte) (key string, isCancel bool, err error) {
	var v struct {
		Type        *string `json:"type"`
		ScheduleKey *string `json:"schedule_key"`
	}
	if json.Unmarshal(data, &v) != nil || v.Type == nil || Type(*v.Type) != CancelType {
		return "", false, nil
	}
	if v.ScheduleKey == nil || !ValidScheduleKey(*v.ScheduleKey) {
		return "", true, refuse("cancel needs a schedule_key of 1-%d characters of [A-Za-z0-9_.:-]", MaxScheduleKeyLen)
	}
	return *v.ScheduleKey, true, nil
}
