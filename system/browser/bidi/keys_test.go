package bidi

import (
	"encoding/json"
	"testing"
)

// PressKeys sends one input.performActions to the tab's context: a key source with a
// keyDown and keyUp per key, in order.
func TestPressKeysSendsKeyActions(t *testing.T) {
	t.Parallel()
	got := make(chan received, 1)
	c, _ := fakeFirefox(t, func(cmd received, send func(any)) {
		got <- cmd
		send(success(cmd.ID, map[string]any{}))
	})
	tab := &Tab{b: &Browser{conn: c}, id: "ctx-1"}
	if err := tab.PressKeys(testContext(t), KeyTab, KeyEnter); err != nil {
		t.Fatal(err)
	}
	cmd := <-got
	want := `{"actions":[{"actions":[{"type":"keyDown","value":"` + KeyTab + `"},{"type":"keyUp","value":"` + KeyTab + `"},` +
		`{"type":"keyDown","value":"` + KeyEnter + `"},{"type":"keyUp","value":"` + KeyEnter + `"}],"id":"keyboard","type":"key"}],"context":"ctx-1"}`
	var compact map[string]any
	_ = json.Unmarshal(cmd.Params, &compact)
	b, _ := json.Marshal(compact)
	if cmd.Method != "input.performActions" || string(b) != want {
		t.Errorf("sent %s %s\nwant input.performActions %s", cmd.Method, b, want)
	}
}
