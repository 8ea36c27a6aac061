package bidi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestOutputFindsListeningLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		writes []string
		want   string // "" when no address should be reported
	}{
		{"one write", []string{"*** You are running in headless mode.\nWebDriver BiDi listening on ws://127.0.0.1:40123\n"}, "ws://127.0.0.1:40123"},
		{"split across writes", []string{"WebDriver BiDi list", "ening on ws://127.0.0.1:", "40123\nmore\n"}, "ws://127.0.0.1:40123"},
		{"CRLF", []string{"WebDriver BiDi listening on ws://127.0.0.1:40123\r\n"}, "ws://127.0.0.1:40123"},
		{"first of two", []string{"WebDriver BiDi listening on ws://127.0.0.1:1111\nWebDriver BiDi listening on ws://127.0.0.1:2222\n"}, "ws://127.0.0.1:1111"},
		{"no newline yet", []string{"WebDriver BiDi listening on ws://127.0.0.1:40123"}, ""},
		{"other output only", []string{"*** You are running in headless mode.\nJavaScript error: x\n"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var copied bytes.Buffer
			o := newOutput(&copied)
			for _, w := range tc.writes {
				if n, err := o.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			var got string
			select {
			case got = <-o.url:
			default:
			}
			if got != tc.want {
				t.Errorf("address = %q, want %q", got, tc.want)
			}
			if want := strings.Join(tc.writes, ""); copied.String() != want {
				t.Errorf("copied %q, want %q", copied.String(), want)
			}
		})
	}
}

func TestOutputTailIsBounded(t *testing.T) {
	t.Parallel()
	o := newOutput(nil)
	for i := range 100 {
		fmt.Fprintf(o, "line %d\n", i)
	}
	fmt.Fprint(o, "partial")
	lines := strings.Split(o.Tail(), "\n")
	if len(lines) != tailLines+1 || lines[0] != "line 70" || lines[len(lines)-1] != "partial" {
		t.Errorf("tail = %d lines %q … %q, want %d lines from \"line 70\" to \"partial\"",
			len(lines), lines[0], lines[len(lines)-1], tailLines+1)
	}
	o.Write(bytes.Repeat([]byte("x"), maxLineBytes+1)) // a runaway line is cut, not kept growing
	if len(o.partial) != 0 {
		t.Errorf("partial line kept %d bytes", len(o.partial))
	}
}
