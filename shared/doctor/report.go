package doctor

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// labels are the status columns of the printed report.
var labels = map[Status]string{OK: "[ ok ]", Skip: "[skip]", Warn: "[warn]", Fail: "[FAIL]"}

// Render writes the report for a terminal. Every line goes through Escape:
// names, ids and messages come from the tenant and from Microsoft, and a
// control character in them must not reach the terminal.
func Render(w io.Writer, rep Report) error {
	var b strings.Builder
	b.WriteString("raprov doctor: read-only checks (nothing is written to the tenant)\n\n")
	width := 0
	for _, res := range rep.Results {
		width = max(width, utf8.RuneCountInString(res.Check))
	}
	indent := strings.Repeat(" ", len("[ ok ] "))
	counts := map[Status]int{}
	for _, res := range rep.Results {
		counts[res.Status]++
		fmt.Fprintf(&b, "%s %-*s  %s\n", labels[res.Status], width, Escape(res.Check), Escape(res.Summary))
		for _, d := range res.Details {
			fmt.Fprintf(&b, "%s  %s\n", indent, Escape(d))
		}
		if res.Action != "" {
			fmt.Fprintf(&b, "%s  → %s\n", indent, Escape(res.Action))
		}
	}
	fmt.Fprintf(&b, "\n%d ok, %d warnings, %d failed, %d skipped: exit %d\n",
		counts[OK], counts[Warn], counts[Fail], counts[Skip], rep.Exit)
	_, err := io.WriteString(w, b.String())
	return err
}

// Escape returns s fit for a terminal, as cmd/raprov prints tenant data:
// C0 and C1 controls and DEL (ESC among them, so no escape sequence can
// clear the screen, move the cursor or retitle the window), the
// bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
// U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029) are
// written as Go escapes: \n, \r and \t, \x1b for other bytes below U+0080,
// \u202e above; bytes that are not UTF-8 as \xff.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < utf8.RuneSelf && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
