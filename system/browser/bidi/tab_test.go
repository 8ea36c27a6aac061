package bidi

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestEvaluateResultDecode(t *testing.T) {
	t.Parallel()
	type point struct{ X, Y int }
	cases := []struct {
		name    string
		result  string // script.evaluate's result
		want    point
		wantErr string
	}{
		{"JSON text", `{"type":"success","result":{"type":"string","value":"{\"X\":1,\"Y\":2}"}}`, point{1, 2}, ""},
		{"undefined decodes as null", `{"type":"success","result":{"type":"undefined"}}`, point{7, 7}, ""},
		{"exception", `{"type":"exception","exceptionDetails":{"text":"Error: boom","lineNumber":1}}`, point{7, 7}, "script threw: Error: boom"},
		{"not a string", `{"type":"success","result":{"type":"number","value":3}}`, point{7, 7}, "evaluate: result is a number, not JSON text"},
		{"JSON of another shape", `{"type":"success","result":{"type":"string","value":"[1]"}}`, point{7, 7}, "evaluate: decode [1]: json: cannot unmarshal array into Go value of type bidi.point"},
		{"unknown type", `{"type":"later"}`, point{7, 7}, `evaluate: unexpected result type "later"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r evaluateResult
			if err := json.Unmarshal([]byte(tc.result), &r); err != nil {
				t.Fatal(err)
			}
			got := point{7, 7}
			err := r.decode(&got)
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
	var r evaluateResult
	_ = json.Unmarshal([]byte(`{"type":"exception","exceptionDetails":{"text":"Error: x"}}`), &r)
	var evalErr *EvalError
	if err := r.decode(nil); !errors.As(err, &evalErr) || evalErr.Text != "Error: x" {
		t.Errorf("decode(nil) of an exception = %v, want *EvalError", err)
	}
}
