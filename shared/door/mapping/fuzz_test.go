package mapping_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/shared/door/mapping"
)

// FuzzApply checks that Apply never panics, fails only in the documented
// ways, and maps the same body the same way every time. Plain `go test`
// runs the seeds: every sample under examples/senders and a few edge cases.
func FuzzApply(f *testing.F) {
	for _, s := range samples(f) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `[]`, `"x"`, `{"number":1e400}`, `{"number":"R","variables":[]}`,
		`{"number":"R","variables":{"display_name":"\ud800"}}`,
		`{"event":{"id":true},"location":{"country":{"ISO_3166-1_Alpha-3_Code":123}}}`,
		strings.Repeat("[", 40), `{"a":{"a":{"a":"a"}},"a":1}`,
	} {
		f.Add([]byte(s))
	}
	mappings := []mapping.Mapping{mapping.ServiceNow(), mapping.Workday()}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, m := range mappings {
			r, err := mapping.Apply(m, body)
			var me *mapping.Error
			switch {
			case err == nil:
				if r.RequestID == "" {
					t.Fatalf("%s: mapped without a request id", m.Name)
				}
			case errors.Is(err, mapping.ErrMalformed), errors.Is(err, mapping.ErrTooLarge):
			case errors.As(err, &me):
				if len(me.Fields) == 0 || len(me.FieldErrors()) != len(me.Fields) {
					t.Fatalf("%s: empty or uneven *Error: %v", m.Name, err)
				}
			default:
				t.Fatalf("%s: undocumented error %v", m.Name, err)
			}
			again, err2 := mapping.Apply(m, body)
			if d := cmp.Diff(r, again); d != "" || (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
				t.Fatalf("%s: not deterministic: %v / %v\n%s", m.Name, err, err2, d)
			}
		}
	})
}
