package eventarc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/notification"
)

// FuzzFastMatchesEncodingJSON: whenever the fast path accepts an input, encoding/json
// accepts it too and decodes exactly the same values (the fast path may decline
// anything; DecodePush then uses encoding/json).
func FuzzFastMatchesEncodingJSON(f *testing.F) {
	f.Add(readTestdata(f, "push-body.json"))
	f.Add(PushBody(readTestdata(f, "job-messy.json"), "m", time.Now()))
	f.Add([]byte(`{"message":{"data":"e30=","messageId":"1","attributes":{"a":"b","c":["d",{}]}},"subscription":"s"}`))
	f.Add([]byte(`{"request_id":"r\u00e9\"","user_id":"u","status":"completed","title":"a\nb\ud800"}`))
	f.Add([]byte(`{"user_id":"u","status":"failed","error":"` + "\xff\xfe" + `","extra":{"x":["y"]}}`))
	f.Add([]byte(`{"messAge":{"dAtA":"e30="}}`))
	f.Add([]byte(`{"message":{"data":"e30=","data":"e30="}}`))
	f.Add([]byte(`{"user_id":"u","status":"completed"} `))
	f.Add([]byte(`{"user_id":"u","status":"completed"}}`))
	f.Add([]byte(`{"a":"\q"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast pushBody
		if decodePushFast(in, &fast) {
			var slow pushBody
			if err := json.Unmarshal(in, &slow); err != nil {
				t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, in)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("push body %q: fast %+v, encoding/json %+v", in, fast.Message, slow.Message)
			}
		}
		var fj notification.Job
		if decodeJobFast(in, &fj) {
			var sj notification.Job
			dec := json.NewDecoder(bytes.NewReader(in))
			if err := dec.Decode(&sj); err != nil || dec.More() {
				t.Fatalf("fast path accepted a job encoding/json refuses (%v): %q", err, in)
			}
			if fj != sj {
				t.Fatalf("job %q: fast %+v, encoding/json %+v", in, fj, sj)
			}
		}
	})
}

// TestFastPathCoversRealDeliveries: the fast path is taken for what real deliveries
// look like (otherwise it is dead weight), including escaped and non-ASCII text.
func TestFastPathCoversRealDeliveries(t *testing.T) {
	t.Parallel()
	for name, body := range map[string][]byte{
		"recorded push body": readTestdata(t, "push-body.json"),
		"messy job":          PushBody(readTestdata(t, "job-messy.json"), "m-1", time.Now()),
		"escaped title":      PushBody([]byte(`{"request_id":"r","user_id":"u","status":"completed","title":"Caf\u00e9 \"quoted\"\n"}`), "m-2", time.Time{}),
	} {
		var p pushBody
		if !decodePushFast(body, &p) || p.Message == nil {
			t.Errorf("%s: fast path declined the envelope", name)
			continue
		}
		var j notification.Job
		if !decodeJobFast(p.Message.Data, &j) {
			t.Errorf("%s: fast path declined the job %q", name, p.Message.Data)
		}
	}
}

// TestFastFieldsMatchTypes: the fast path knows exactly the JSON fields of the types it
// fills, so a field added to either is not silently dropped.
func TestFastFieldsMatchTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ    reflect.Type
		fields []string
	}{
		{reflect.TypeFor[pushBody](), envelopeFields},
		{reflect.TypeFor[pushMessageIn](), messageFields},
		{reflect.TypeFor[notification.Job](), jobFields},
	} {
		var tags []string
		for f := range tc.typ.Fields() {
			tags = append(tags, f.Tag.Get("json"))
		}
		if !slices.Equal(tags, tc.fields) {
			t.Errorf("%s has JSON fields %v; the fast path reads %v", tc.typ, tags, tc.fields)
		}
	}
}

func BenchmarkDecodePushEncodingJSON(b *testing.B) {
	body := readTestdata(b, "push-body.json")
	b.ReportAllocs()
	for b.Loop() {
		var p pushBody
		if err := json.Unmarshal(body, &p); err != nil {
			b.Fatal(err)
		}
		var j notification.Job
		dec := json.NewDecoder(bytes.NewReader(p.Message.Data))
		if err := dec.Decode(&j); err != nil || dec.More() {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePushFast(b *testing.B) {
	body := readTestdata(b, "push-body.json")
	b.ReportAllocs()
	for b.Loop() {
		var p pushBody
		var j notification.Job
		if !decodePushFast(body, &p) || !decodeJobFast(p.Message.Data, &j) {
			b.Fatal("declined")
		}
	}
}
