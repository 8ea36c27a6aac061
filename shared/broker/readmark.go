package broker

import (
	"encoding/json"
	"fmt"
)

// MaxReadIDs is the most ids one ReadMark may carry.
const MaxReadIDs = 200

// ReadMark says what a user has read: the notifications IDs, or (All) every
// notification of the user's logs at the time of marking. Exactly one of the two.
type ReadMark struct {
	IDs []string
	All bool
	// Logs are the other logs the user reads (Everyone, GroupSource(g)…), as the
	// caller knows them from the user's token: All covers them, and ids of logs not
	// listed are ignored.
	Logs []string
}

// Validate checks m: either All alone, or 1–MaxReadIDs well-formed notification ids (of
// any log: SplitItemID). It returns m with duplicate ids removed (first occurrence
// kept). Errors wrap ErrInvalid.
func (m ReadMark) Validate() (ReadMark, error) {
	switch {
	case m.All && m.IDs != nil:
		return m, fmt.Errorf("%w: give ids or all, not both", ErrInvalid)
	case m.All:
		return ReadMark{All: true, Logs: m.Logs}, nil
	case len(m.IDs) == 0:
		return m, fmt.Errorf("%w: give 1 to %d ids, or all", ErrInvalid, MaxReadIDs)
	case len(m.IDs) > MaxReadIDs:
		return m, fmt.Errorf("%w: at most %d ids at once", ErrInvalid, MaxReadIDs)
	}
	seen := make(map[string]bool, len(m.IDs))
	ids := make([]string, 0, len(m.IDs))
	for i, id := range m.IDs {
		if _, _, _, err := SplitItemID(id); err != nil {
			return m, fmt.Errorf("%w: ids[%d] is not a notification id", ErrInvalid, i)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ReadMark{IDs: ids, Logs: m.Logs}, nil
}

// ReadData is the JSON a read control carries, the data of the SSE `event: read`
// frame: {"ids":[…]} or {"all":true}. ids must be well-formed notification ids (plain
// ASCII).
func ReadData(ids []string, all bool) []byte {
	if all {
		return []byte(`{"all":true}`)
	}
	b, _ := json.Marshal(struct {
		IDs []string `json:"ids"`
	}{ids})
	return b
}
