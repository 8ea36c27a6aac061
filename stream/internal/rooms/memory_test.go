package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestMemoryKeepsTheLast500(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	s := NewMemory(func() time.Time { return now })
	var ids []string
	for i := range Keep + 10 {
		m, _ := s.Append(ctx, "r", Message{User: "u", Text: fmt.Sprint(i)})
		if len(ids) > 0 && !after(m.ID, ids[len(ids)-1]) {
			t.Fatalf("id %s does not grow past %s", m.ID, ids[len(ids)-1])
		}
		ids = append(ids, m.ID)
	}
	recent, newest, _ := s.Recent(ctx, "r", WelcomeMessages)
	if len(recent) != WelcomeMessages || newest != ids[len(ids)-1] || recent[0].ID != ids[len(ids)-WelcomeMessages] {
		t.Fatalf("Recent = %d messages, newest %s", len(recent), newest)
	}
	if _, err := s.After(ctx, "r", ids[5]); !errors.Is(err, ErrReset) {
		t.Fatalf("After a trimmed id = %v, want ErrReset", err)
	}
	got, err := s.After(ctx, "r", ids[9]) // the newest trimmed: nothing after it is lost
	if err != nil || len(got) != Keep {
		t.Fatalf("After the last trimmed = %d, %v", len(got), err)
	}
	now = now.Add(KeepFor + time.Minute)
	m, _ := s.Append(ctx, "r", Message{User: "u", Text: "late"})
	if recent, _, _ := s.Recent(ctx, "r", Keep); len(recent) != 1 || recent[0].ID != m.ID {
		t.Fatalf("after 24 h, kept %d", len(recent))
	}
}

func TestMemoryStateCompareAndSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewMemory(time.Now)
	st, err := s.SetState(ctx, "r", State{State: json.RawMessage(`{"t":1}`), Version: 0, By: "t"})
	if err != nil || st.Version != 1 {
		t.Fatalf("first SetState = %+v, %v", st, err)
	}
	if cur, err := s.SetState(ctx, "r", State{State: json.RawMessage(`{"t":2}`), Version: 0}); !errors.Is(err, ErrConflict) || cur.Version != 1 {
		t.Fatalf("stale SetState = %+v, %v", cur, err)
	}
	if st, _ := s.State(ctx, "r"); string(st.State) != `{"t":1}` {
		t.Fatalf("state = %s", st.State)
	}
}
