package requestfile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/raprov/raprov/shared/requestfile"
)

// FuzzParse checks that Parse never panics and that every row and row error
// points at a line of the input.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, errs, err := requestfile.Parse(bytes.NewReader(data))
		if err != nil {
			if rows != nil || errs != nil {
				t.Fatal("rows returned with a file error")
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, r := range rows {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("row line %d outside 1..%d", r.Line, lines)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines || e.EndLine > lines || e.Err == nil {
				t.Fatalf("row error %v outside 1..%d", e, lines)
			}
		}
	})
}
