package termsafe_test

import (
	"testing"

	"github.com/raprov/raprov/shared/termsafe"
)

func TestEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"Main Line, Reception", "Main Line, Reception"},
		{"Café Zürich 東京 \U0001F600", "Café Zürich 東京 \U0001F600"},
		{`back\slash`, `back\slash`},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b[2J", `\x1b[2J`},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"\x00\x7f", `\x00\x7f`},
		{"\u0085\u009b2J", `\u0085\u009b2J`},                                     // C1: NEL, CSI
		{"abc\u202edcba\u202c", `abc\u202edcba\u202c`},                           // right-to-left override
		{"\u2066x\u2069 \u200e\u200f\u061c", `\u2066x\u2069 \u200e\u200f\u061c`}, // isolates, marks
		{"bad\xffutf8", `bad\xffutf8`},
		{"\u00a0nbsp", "\u00a0nbsp"},
		{"line\u2028break\u2029", `line\u2028break\u2029`}, // line and paragraph separators
	} {
		if got := termsafe.Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
