package doctor

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/raprov/raprov/shared/termsafe"
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

// Escape returns s fit for a terminal, as cmd/raprov prints tenant data
// (termsafe.Escape).
func Escape(s string) string { return termsafe.Escape(s) }
