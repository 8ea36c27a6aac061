package sse

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestFramesGolden(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	w, err := Start(rec, 3*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	data := `{"id":"1764174645123-0","type":"video_complete","request_id":"r-123","video_url":"https://cdn.example/v/r-123.mp4","title":"Photosynthesis","created_at":"2026-11-26T16:30:45.123Z"}`
	if err := w.Event("1764174645123-0", "video_complete", []byte(data)); err != nil {
		t.Fatal(err)
	}
	w.Comment("ping")
	if err := w.ID("1764174645123-0"); err != nil {
		t.Fatal(err)
	}
	if err := w.ID("1\n"); err == nil {
		t.Fatal("ID accepted a newline")
	}
	if err := w.Event("1764174645124-0", "reset", []byte("{\"reason\":\"expired\",\n\"oldest\":\"1-0\"}")); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if *update {
		os.WriteFile("testdata/frames.txt", rec.Body.Bytes(), 0o644)
	}
	want, err := os.ReadFile("testdata/frames.txt")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), rec.Body.String()); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

func TestUnsafeFieldsRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ id, event string }{{"1\n", "e"}, {"1", "e\r"}, {"1", "e\nid: 2"}, {"\x00", "e"}} {
		if _, err := AppendEvent(nil, tc.id, tc.event, nil); !errors.Is(err, ErrUnsafeField) {
			t.Errorf("AppendEvent(%q, %q) = %v", tc.id, tc.event, err)
		}
	}
}

// parse reads frames the way a browser's EventSource does (the field-level parts that
// matter here): it returns, per event, its id, event and data fields, and any other
// field names seen.
func parse(stream []byte) (events []map[string]string, extra []string) {
	cur := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(nil, 1<<20)
	sc.Split(splitLines)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(cur) > 0 {
				events = append(events, cur)
			}
			cur = map[string]string{}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "data":
			if _, ok := cur["data"]; ok {
				cur["data"] += "\n" + value
			} else {
				cur["data"] = value
			}
		case "id", "event":
			cur[name] = value
		default:
			extra = append(extra, name)
		}
	}
	return events, extra
}

// splitLines splits on CRLF, CR or LF, as the SSE spec does.
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		if c == '\n' {
			return i + 1, data[:i], nil
		}
		if c == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// FuzzAppendEvent: whatever id, event and data hold, the frame is exactly one event
// with exactly those fields (data normalised to LF line ends), and nothing else.
func FuzzAppendEvent(f *testing.F) {
	f.Add("1-0", "video_complete", []byte(`{"a":1}`))
	f.Add("1-0", "e", []byte("a\r\nid: 666\r\n\r\nevent: x"))
	f.Add("", "", []byte("\r"))
	f.Add("1", "retry", []byte("data\n\nretry: 1"))
	f.Fuzz(func(t *testing.T, id, event string, data []byte) {
		frame, err := AppendEvent(nil, id, event, data)
		if err != nil {
			if safe(id) && safe(event) {
				t.Fatalf("rejected safe fields: %v", err)
			}
			return
		}
		events, extra := parse(frame)
		if len(extra) > 0 || len(events) != 1 {
			t.Fatalf("frame %q parsed as %d events, extra fields %v", frame, len(events), extra)
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data))
		e := events[0]
		if e["data"] != want || e["id"] != id || e["event"] != event {
			t.Fatalf("frame %q parsed as %v; want id %q event %q data %q", frame, e, id, event, want)
		}
	})
}

func TestStartNeedsFlusher(t *testing.T) {
	t.Parallel()
	if _, err := Start(struct{ http.ResponseWriter }{httptest.NewRecorder()}, time.Second, time.Second); err == nil {
		t.Fatal("Start succeeded on a writer that cannot flush")
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	data := []byte(`{"id":"1764174645123-0","type":"video_complete","request_id":"r-123","video_url":"https://cdn.example/v/r-123.mp4","title":"Photosynthesis","created_at":"2026-11-26T16:30:45.123Z"}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendEvent(buf[:0], "1764174645123-0", "video_complete", data)
	}
}
