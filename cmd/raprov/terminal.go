package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safe returns s fit to print on the operator's terminal: every string that
// comes from a request file, the tenant or the ledger goes through it.
// Control characters (C0, DEL, C1, which include ESC and so every escape
// sequence that could clear the screen, move the cursor or retitle the
// window) and the bidirectional controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069, which can make text read backwards) are
// written as Go escapes: \n, \r and \t, \x1b for the other bytes below
// U+0080, \u202e above. Bytes that are not UTF-8 are written as \xff.
// Everything else, backslashes included, is printed as it is.
func safe(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < utf8.RuneSelf && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return true
			}
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return true
		}
	}
	return false
}
