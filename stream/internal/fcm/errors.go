package fcm

import (
	"encoding/json"
	"strings"
)

// errorDetail is what FCM's error body says beyond the HTTP status.
type errorDetail struct {
	code         string // FcmError.errorCode, else the RPC status
	tokenInvalid bool   // a BadRequest field violation on message.token
}

// parseErrorBody reads FCM's documented error body:
//
//	{"error":{"code":404,"message":"…","status":"NOT_FOUND","details":[
//	  {"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}
//
// An invalid token is INVALID_ARGUMENT with a google.rpc.BadRequest detail whose field
// violation names message.token (the Admin SDKs read it the same way); an
// INVALID_ARGUMENT about another field is our own mistake and removes nothing.
func parseErrorBody(body string) errorDetail {
	var doc struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Type            string `json:"@type"`
				ErrorCode       string `json:"errorCode"`
				FieldViolations []struct {
					Field string `json:"field"`
				} `json:"fieldViolations"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &doc) != nil {
		return errorDetail{}
	}
	d := errorDetail{code: doc.Error.Status}
	for _, det := range doc.Error.Details {
		if strings.HasSuffix(det.Type, "google.firebase.fcm.v1.FcmError") && det.ErrorCode != "" {
			d.code = det.ErrorCode
		}
		for _, v := range det.FieldViolations {
			if v.Field == "message.token" {
				d.tokenInvalid = true
			}
		}
	}
	if d.code == "INVALID_ARGUMENT" && strings.Contains(strings.ToLower(doc.Error.Message), "registration token") {
		d.tokenInvalid = true
	}
	return d
}
