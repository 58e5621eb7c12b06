package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// Output formats of -o/--output (docs/cli.md).
const (
	outputTable = "table" // for people; the default, on a terminal or not
	outputJSON  = "json"  // one JSON document: an array or an object
	outputJSONL = "jsonl" // one JSON object per line
)

// outputFormat is the value of -o/--output. Its zero value is table.
//
// Table stays the default when stdout is not a terminal: a script that
// wants JSON says so, and `raprov run | tee run.txt` keeps showing what a
// person reads. Guessing from the terminal would change a command's output
// under a pipe or in CI, which kubectl and gh do not do either.
type outputFormat string

func (o *outputFormat) String() string {
	if *o == "" {
		return outputTable
	}
	return string(*o)
}

// Set accepts table, json and jsonl; anything else is a flag error, and so
// a usage error (exit 2).
func (o *outputFormat) Set(s string) error {
	switch s {
	case outputTable, outputJSON, outputJSONL:
		*o = outputFormat(s)
		return nil
	}
	return fmt.Errorf("unknown output format %q: want %s, %s or %s", s, outputTable, outputJSON, outputJSONL)
}

func (o *outputFormat) Type() string { return "format" }

// machine reports whether the output is JSON: stdout then carries nothing
// else, and messages and progress go to stderr.
func (o outputFormat) machine() bool { return o == outputJSON || o == outputJSONL }

// addOutputFlag adds -o/--output to cmd, with its values for shell completion.
func addOutputFlag(cmd *cobra.Command, o *outputFormat) {
	cmd.Flags().VarP(o, "output", "o", "output format: table, json (one document) or jsonl (one object per line); see docs/cli.md")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputTable, outputJSON, outputJSONL}, cobra.ShellCompDirectiveNoFileComp))
}

// messages returns where a command's messages and progress go: out with
// the table, else errOut (os.Stderr when nil), so that stdout holds JSON
// only.
func (o outputFormat) messages(out, errOut io.Writer) io.Writer {
	switch {
	case !o.machine():
		return out
	case errOut != nil:
		return errOut
	}
	return os.Stderr
}

// writeList writes items as one JSON array (json; [] when empty) or one
// object per line (jsonl).
func writeList[T any](w io.Writer, o outputFormat, items []T) error {
	if o == outputJSONL {
		for _, it := range items {
			if err := writeJSON(w, it, false); err != nil {
				return err
			}
		}
		return nil
	}
	if items == nil {
		items = []T{}
	}
	return writeJSON(w, items, true)
}

// writeObject writes v as one indented document (json) or on one line (jsonl).
func writeObject(w io.Writer, o outputFormat, v any) error {
	return writeJSON(w, v, o != outputJSONL)
}

// writeJSON writes v and a newline, indented or on one line, with the
// characters that could drive a terminal escaped (jsonSafe).
func writeJSON(w io.Writer, v any, indent bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(jsonSafe(buf.Bytes()))
	return err
}

// jsonSafe escapes, as \uXXXX, the characters encoding/json leaves raw
// that termsafe escapes on the terminal: DEL, C1 controls, bidirectional
// controls. They can only occur inside strings, where the escape decodes to
// the same text: the JSON is unchanged for a parser, and harmless on a
// terminal. (encoding/json escapes C0 controls, U+2028 and U+2029 itself.)
func jsonSafe(b []byte) []byte {
	if !bytes.ContainsFunc(b, unsafeInJSON) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if unsafeInJSON(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

func unsafeInJSON(r rune) bool {
	return r >= 0x7f && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))
}
