package browser

import (
	"os"
	"strings"
	"testing"
)

// The client guide's usage example (docs/CLIENT.md) is the code the app tests run (testdata/readme_example.js,
// served with only its origin replaced): the two must not drift apart.
func TestReadmeExampleIsTheTestedOne(t *testing.T) {
	readme, err := os.ReadFile("../../docs/CLIENT.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("testdata/readme_example.js")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Using the client from an app")
	if !ok {
		t.Fatal(`docs/CLIENT.md has no section "## Using the client from an app"`)
	}
	_, block, ok := strings.Cut(section, "```js\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatal("docs/CLIENT.md's usage section has no ```js block")
	}
	if block != string(example) {
		t.Errorf("docs/CLIENT.md's usage example differs from system/browser/testdata/readme_example.js, which the browser tests run.\nCLIENT.md:\n%s\ntested:\n%s", block, example)
	}
}
