package bidi

import "context"

// Keys for PressKeys: WebDriver's key codes for the keys a keyboard-only user presses.
const (
	KeyTab   = "\uE004"
	KeyEnter = "\uE007"
)

// PressKeys presses and releases each key in turn, as real keyboard input to the page
// (input.performActions): focus moves and elements activate as they do for a user,
// unlike events dispatched from script.
func (t *Tab) PressKeys(ctx context.Context, keys ...string) error {
	var actions []map[string]string
	for _, k := range keys {
		actions = append(actions, map[string]string{"type": "keyDown", "value": k}, map[string]string{"type": "keyUp", "value": k})
	}
	return t.b.conn.call(ctx, "input.performActions", map[string]any{
		"context": t.id,
		"actions": []map[string]any{{"type": "key", "id": "keyboard", "actions": actions}},
	}, nil)
}
