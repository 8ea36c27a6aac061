package eventarc

import (
	"encoding/base64"

	"github.com/vividly-edu/notifications/shared/notification"
)

// A fast path for the JSON the function reads on every event: the push envelope and
// the job inside it. encoding/json spends most of its time on reflection and a
// validating pre-scan; these readers walk the bytes once, for the shape real
// deliveries have.
//
// They are exact or they decline: each returns ok only for input it decodes exactly as
// encoding/json does (FuzzFastMatchesEncodingJSON compares the two on every input), and
// declines everything else, which the caller then hands to encoding/json — numbers,
// true/false/null, duplicate or case-folded keys, non-ASCII keys, invalid JSON, trailing
// data, bad base64. So the fast path changes no answer, only its cost.

var (
	envelopeFields = []string{"message"}
	messageFields  = []string{"data", "messageId", "message_id", "publishTime", "publish_time"}
	jobFields      = []string{"request_id", "user_id", "status", "video_url", "title", "error"}
)

// decodePushFast fills p from body as json.Unmarshal would, or returns false.
func decodePushFast(body []byte, p *pushBody) bool {
	r := fastReader{b: body}
	var seen uint32
	ok := r.object(func(key []byte) bool {
		i, ok := known(key, envelopeFields, &seen)
		switch {
		case !ok:
			return false
		case i < 0:
			return r.skip(0)
		case r.peek() != '{':
			return false // null, or the wrong type
		}
		p.Message = &pushMessageIn{}
		return decodeMessageFast(&r, p.Message)
	})
	return ok && r.end()
}

func decodeMessageFast(r *fastReader, m *pushMessageIn) bool {
	var seen uint32
	return r.object(func(key []byte) bool {
		i, ok := known(key, messageFields, &seen)
		if !ok {
			return false
		}
		if i < 0 {
			return r.skip(0)
		}
		if i == 0 { // data: base64, as encoding/json decodes a []byte
			raw, escaped, ok := r.rawString()
			if !ok || escaped {
				return false
			}
			m.Data = make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
			n, err := base64.StdEncoding.Decode(m.Data, raw)
			m.Data = m.Data[:n]
			return err == nil
		}
		s, ok := r.str()
		switch i {
		case 1:
			m.MessageID = s
		case 2:
			m.MessageIDSnake = s
		case 3:
			m.PublishTime = s
		case 4:
			m.PublishTimeSnake = s
		}
		return ok
	})
}

// decodeJobFast decodes message.data as DecodeJob's json.Decoder does, or returns
// false. (Trailing data declines: the Decoder's rules for it are left to it.)
func decodeJobFast(data []byte, j *notification.Job) bool {
	r := fastReader{b: data}
	var seen uint32
	ok := r.object(func(key []byte) bool {
		i, ok := known(key, jobFields, &seen)
		if !ok {
			return false
		}
		if i < 0 {
			return r.skip(0)
		}
		s, ok := r.str()
		switch i {
		case 0:
			j.RequestID = s
		case 1:
			j.UserID = s
		case 2:
			j.Status = s
		case 3:
			j.VideoURL = s
		case 4:
			j.Title = s
		case 5:
			j.Error = s
		}
		return ok
	})
	return ok && r.end()
}
