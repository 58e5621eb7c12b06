package mapping_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/door/mapping"
)

var update = flag.Bool("update", false, "rewrite the golden files under examples/senders")

// sendersDir holds the sample payloads and their golden files:
//
//	<sender>-<case>.json          a payload as the sender posts it
//	<sender>-<case>.request.json  the request it maps to, or
//	<sender>-<case>.error.json    the field errors it maps to instead
//	<sender>-<case>.invalid.json  the request fields validate.Normalize rejects (optional)
//	<sender>-<case>.mapping.json  an override to map it with (optional; else the built-in)
//	<sender>.mapping.json         the built-in mapping, written out
const sendersDir = "../../../examples/senders"

// samples returns the payload files: names with a single dot.
func samples(tb testing.TB) []string {
	tb.Helper()
	all, err := filepath.Glob(filepath.Join(sendersDir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if strings.Count(filepath.Base(p), ".") == 1 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no samples in %s", sendersDir)
	}
	return out
}

// mappingFor returns the mapping a sample is mapped with.
func mappingFor(tb testing.TB, sample string) mapping.Mapping {
	tb.Helper()
	stem := strings.TrimSuffix(sample, ".json")
	if b, err := os.ReadFile(stem + ".mapping.json"); err == nil {
		m, err := mapping.LoadMapping(bytes.NewReader(b))
		if err != nil {
			tb.Fatalf("%s.mapping.json: %v", stem, err)
		}
		return m
	}
	sender, _, _ := strings.Cut(filepath.Base(stem), "-")
	m, ok := mapping.Builtin(sender)
	if !ok {
		tb.Fatalf("%s: no built-in mapping %q", sample, sender)
	}
	return m
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// decodeStrict decodes golden JSON into v, refusing unknown keys.
func decodeStrict(tb testing.TB, b []byte, v any) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatal(err)
	}
}

func writeGolden(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// TestSamples maps every sample under examples/senders and compares the
// outcome with its golden file; the requests must then pass intake's
// validation, but for the fields a .invalid.json names.
func TestSamples(t *testing.T) {
	perSender := map[string][2]int{} // sender → {mapped, refused}
	for _, sample := range samples(t) {
		stem := strings.TrimSuffix(sample, ".json")
		name := filepath.Base(stem)
		t.Run(name, func(t *testing.T) {
			m := mappingFor(t, sample)
			got, err := mapping.Apply(m, mustRead(t, sample))
			sender, _, _ := strings.Cut(name, "-")
			counts := perSender[sender]

			if errFile := stem + ".error.json"; exists(errFile) || (*update && err != nil) {
				var me *mapping.Error
				if !errors.As(err, &me) {
					t.Fatalf("Apply = %+v, %v; want a *mapping.Error", got, err)
				}
				if *update {
					writeGolden(t, errFile, me.FieldErrors())
				}
				var want []events.FieldError
				decodeStrict(t, mustRead(t, errFile), &want)
				if d := cmp.Diff(want, me.FieldErrors()); d != "" {
					t.Errorf("field errors (-%s +got):\n%s", filepath.Base(errFile), d)
				}
				counts[1]++
				perSender[sender] = counts
				return
			}

			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			reqFile := stem + ".request.json"
			if *update {
				writeGolden(t, reqFile, got)
			}
			var want events.Request
			decodeStrict(t, mustRead(t, reqFile), &want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("request (-%s +got):\n%s", filepath.Base(reqFile), d)
			}
			counts[0]++
			perSender[sender] = counts

			var wantInvalid []string
			if f := stem + ".invalid.json"; exists(f) {
				decodeStrict(t, mustRead(t, f), &wantInvalid)
			}
			_, errs := validate.Normalize(got, validate.Options{})
			var gotInvalid []string
			for _, e := range errs {
				gotInvalid = append(gotInvalid, e.Field)
			}
			if d := cmp.Diff(wantInvalid, gotInvalid); d != "" {
				t.Errorf("fields validate.Normalize rejects (-want +got):\n%s\nerrors: %v", d, errs)
			}
		})
	}
	for _, sender := range []string{mapping.NameServiceNow, mapping.NameWorkday} {
		if c := perSender[sender]; c[0] < 2 || c[1] < 1 {
			t.Errorf("%s: %d samples map and %d are refused; want at least 2 and 1", sender, c[0], c[1])
		}
	}
}

// TestGoldenFilesHaveSamples catches a golden file left behind by a
// renamed or deleted sample, and a sample with two outcomes.
func TestGoldenFilesHaveSamples(t *testing.T) {
	all, _ := filepath.Glob(filepath.Join(sendersDir, "*.*.json"))
	for _, p := range all {
		base := filepath.Base(p)
		stem, kind, _ := strings.Cut(base, ".")
		switch kind {
		case "request.json", "error.json", "invalid.json":
		case "mapping.json":
			if !strings.Contains(stem, "-") { // a built-in, written out
				continue
			}
		default:
			t.Errorf("%s: unknown kind of file", base)
			continue
		}
		if !exists(filepath.Join(sendersDir, stem+".json")) {
			t.Errorf("%s has no sample %s.json", base, stem)
		}
	}
	for _, s := range samples(t) {
		stem := strings.TrimSuffix(s, ".json")
		if exists(stem+".request.json") == exists(stem+".error.json") {
			t.Errorf("%s: want exactly one of .request.json and .error.json", filepath.Base(s))
		}
	}
}

// TestBuiltinFiles keeps the written-out built-in mappings (the starting
// point docs/senders.md gives admins) equal to the code.
func TestBuiltinFiles(t *testing.T) {
	for _, name := range []string{mapping.NameServiceNow, mapping.NameWorkday} {
		t.Run(name, func(t *testing.T) {
			want, _ := mapping.Builtin(name)
			path := filepath.Join(sendersDir, name+".mapping.json")
			if *update {
				writeGolden(t, path, want)
			}
			got, err := mapping.LoadMapping(bytes.NewReader(mustRead(t, path)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s differs from the built-in (-built-in +file):\n%s", path, d)
			}
		})
	}
}

// TestResendIsSameRequest: the request id comes from the sender's id, so
// the same ticket or event posted again, even re-serialised, is the same
// request.
func TestResendIsSameRequest(t *testing.T) {
	for _, sample := range samples(t) {
		stem := strings.TrimSuffix(sample, ".json")
		if exists(stem + ".error.json") {
			continue
		}
		m := mappingFor(t, sample)
		body := mustRead(t, sample)
		first, err := mapping.Apply(m, body)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		compact, _ := json.Marshal(v) // keys reordered, white space gone
		again, err := mapping.Apply(m, compact)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(first, again); d != "" {
			t.Errorf("%s: resend differs:\n%s", filepath.Base(sample), d)
		}
		if first.RequestID == "" || !slices.ContainsFunc([]string{"servicenow-", "workday-"}, func(p string) bool {
			return strings.HasPrefix(first.RequestID, p)
		}) {
			t.Errorf("%s: requestId %q is not the sender's prefixed id", filepath.Base(sample), first.RequestID)
		}
	}
}

// TestDocsNamePaths keeps docs/senders.md in step with the built-in
// mappings: every path they read is named there.
func TestDocsNamePaths(t *testing.T) {
	doc := string(mustRead(t, "../../../docs/senders.md"))
	for _, m := range []mapping.Mapping{mapping.ServiceNow(), mapping.Workday()} {
		b, err := json.Marshal(m.Fields)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]mapping.Field
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		for name, f := range fields {
			for _, p := range append([]string{f.Path}, f.Fallback...) {
				if !strings.Contains(doc, "`"+p+"`") {
					t.Errorf("docs/senders.md does not name %s's path %s for %s", m.Name, p, name)
				}
			}
			if f.Prefix != "" && !strings.Contains(doc, "`"+f.Prefix+"`") {
				t.Errorf("docs/senders.md does not name %s's prefix %s", m.Name, f.Prefix)
			}
		}
	}
}
