package events_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
)

// testdataFiles returns the event documents in testdata, by file name.
func testdataFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatal("no testdata/*.json")
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// mustDecode decodes b or fails the test.
func mustDecode(tb testing.TB, b []byte) events.Event {
	tb.Helper()
	e, err := events.Decode(b)
	if err != nil {
		tb.Fatalf("Decode: %v", err)
	}
	return e
}

// mustEncode encodes e or fails the test.
func mustEncode(tb testing.TB, e events.Event) []byte {
	tb.Helper()
	b, err := events.Encode(e)
	if err != nil {
		tb.Fatalf("Encode: %v", err)
	}
	return b
}

// asJSON unmarshals b into a generic value for comparison.
func asJSON(tb testing.TB, b []byte) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("unmarshal %s: %v", b, err)
	}
	return v
}

func TestTestdataRoundTrip(t *testing.T) {
	covered := map[string]bool{}
	for name, b := range testdataFiles(t) {
		t.Run(name, func(t *testing.T) {
			first := mustDecode(t, b)
			covered[first.Type] = true
			// Files are named <name>[.<variant>].json after the type they hold.
			parts := strings.SplitN(strings.TrimSuffix(name, ".json"), ".", 3)
			if len(parts) < 2 || first.Type != "raprov."+parts[0]+"."+parts[1]+".v1" {
				t.Errorf("file %s holds type %s", name, first.Type)
			}
			enc := mustEncode(t, first)
			second := mustDecode(t, enc)
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("Decode(Encode(Decode(file))) differs (-first +second):\n%s", diff)
			}
			// Nothing in the file is lost or renamed: the file is in
			// canonical form, so re-encoding reproduces it.
			if diff := cmp.Diff(asJSON(t, b), asJSON(t, enc)); diff != "" {
				t.Errorf("Encode(Decode(file)) differs from the file (-file +encoded):\n%s", diff)
			}
		})
	}
	for _, typ := range events.Types {
		if !covered[typ] {
			t.Errorf("no testdata file for %s", typ)
		}
	}
}

func TestEncodeFormat(t *testing.T) {
	e := events.New(events.TypeProvisioningAccepted, events.Source(events.StepIntake), events.Data{
		Request: events.Request{RequestID: "r-1", CallbackURL: "https://example.com/cb?a=1&b=<2>"},
	})
	e.Time = time.Date(2026, 11, 25, 10, 0, 0, 500_000_000, time.FixedZone("CET", 3600))
	e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e.Attempt = 2
	e.Delay = time.Minute
	b := mustEncode(t, e)

	got := asJSON(t, b).(map[string]any)
	want := map[string]any{
		"specversion":     "1.0",
		"id":              e.ID,
		"source":          "raprov/intake",
		"type":            "raprov.provisioning.accepted.v1",
		"subject":         "r-1",
		"time":            "2026-11-25T09:00:00.5Z",
		"datacontenttype": "application/json",
		"traceparent":     e.TraceParent,
		"attempt":         2.0,
		"replaycount":     0.0,
		"data": map[string]any{
			"request":  map[string]any{"requestId": "r-1", "callbackUrl": "https://example.com/cb?a=1&b=<2>"},
			"progress": map[string]any{},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encoded event (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(b), "a=1&b=<2>") {
		t.Errorf("Encode escaped HTML characters: %s", b)
	}
	if d := mustDecode(t, b); d.Delay != 0 {
		t.Errorf("Delay survived encoding: %v", d.Delay)
	}
}

// valid is a minimal valid event document; tests derive variants from it.
func valid() map[string]any {
	return map[string]any{
		"specversion":     "1.0",
		"id":              "id-1",
		"source":          "raprov/intake",
		"type":            events.TypeProvisioningAccepted,
		"subject":         "r-1",
		"time":            "2026-11-25T09:00:00Z",
		"datacontenttype": "application/json",
		"data":            map[string]any{"request": map[string]any{"requestId": "r-1"}, "progress": map[string]any{}},
	}
}

func with(changes map[string]any) []byte {
	doc := valid()
	for k, v := range changes {
		if v == nil {
			delete(doc, k)
			continue
		}
		doc[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeValidVariants(t *testing.T) {
	tests := []struct {
		name  string
		doc   []byte
		check func(t *testing.T, e events.Event)
	}{
		{"minimal", with(nil), func(t *testing.T, e events.Event) {
			if e.Subject != "r-1" || e.Attempt != 0 || e.ReplayCount != 0 || e.TraceParent != "" {
				t.Errorf("got %+v", e)
			}
		}},
		{"unknown extension attributes are ignored", with(map[string]any{"comexampleext": "x", "partitionkey": 7}), nil},
		{"datacontenttype may be absent", with(map[string]any{"datacontenttype": nil}), nil},
		{"datacontenttype may carry parameters", with(map[string]any{"datacontenttype": "application/json; charset=utf-8"}), nil},
		{"null attributes count as absent", with(map[string]any{"traceparent": json.RawMessage("null"), "subject": "r-1"}), nil},
		{"traceparent is kept", with(map[string]any{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}), func(t *testing.T, e events.Event) {
			if e.TraceParent != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
				t.Errorf("traceparent = %q", e.TraceParent)
			}
		}},
		// W3C Trace Context: an invalid traceparent is ignored, never
		// trusted and never a reason to dead-letter the request.
		{"invalid traceparent is dropped", with(map[string]any{"traceparent": "00-xyz"}), func(t *testing.T, e events.Event) {
			if e.TraceParent != "" {
				t.Errorf("traceparent = %q, want it dropped", e.TraceParent)
			}
		}},
		{"all-zero trace id is dropped", with(map[string]any{"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}), func(t *testing.T, e events.Event) {
			if e.TraceParent != "" {
				t.Errorf("traceparent = %q, want it dropped", e.TraceParent)
			}
		}},
		{"traceparent not a string is dropped", with(map[string]any{"traceparent": 1}), func(t *testing.T, e events.Event) {
			if e.TraceParent != "" {
				t.Errorf("traceparent = %q, want it dropped", e.TraceParent)
			}
		}},
		{"time with offset is converted to UTC", with(map[string]any{"time": "2026-11-25T10:00:00.25+01:00"}), func(t *testing.T, e events.Event) {
			if want := time.Date(2026, 11, 25, 9, 0, 0, 250_000_000, time.UTC); !e.Time.Equal(want) || e.Time.Location() != time.UTC {
				t.Errorf("time = %v, want %v in UTC", e.Time, want)
			}
		}},
		{"counts", with(map[string]any{"attempt": 3, "replaycount": 2}), func(t *testing.T, e events.Event) {
			if e.Attempt != 3 || e.ReplayCount != 2 {
				t.Errorf("attempt, replaycount = %d, %d", e.Attempt, e.ReplayCount)
			}
		}},
		{"requested event may lack subject and requestId", with(map[string]any{
			"type": events.TypeProvisioningRequested, "subject": nil,
			"data": map[string]any{"request": map[string]any{"displayName": "x"}},
		}), nil},
		{"unknown data fields are tolerated", with(map[string]any{
			"data": map[string]any{"request": map[string]any{"requestId": "r-1", "futureField": 1}, "progress": map[string]any{"futureCount": 2}},
		}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustDecode(t, tt.doc)
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func TestDecodePoison(t *testing.T) {
	failedData := func(failure any) map[string]any {
		return map[string]any{
			"type": events.TypeProvisioningFailed,
			"data": map[string]any{"request": map[string]any{"requestId": "r-1"}, "failure": failure},
		}
	}
	tests := []struct {
		name   string
		doc    []byte
		reason string
	}{
		{"empty", []byte(""), events.PoisonMalformedJSON},
		{"not JSON", []byte("hello"), events.PoisonMalformedJSON},
		{"truncated", with(nil)[:40], events.PoisonMalformedJSON},
		{"trailing garbage", append(with(nil), '}'), events.PoisonMalformedJSON},
		{"invalid UTF-8", []byte("{\"specversion\":\"1.0\xff\"}"), events.PoisonMalformedJSON},
		{"array", []byte(`[1,2]`), events.PoisonMalformedEnvelope},
		{"null", []byte(`null`), events.PoisonMalformedEnvelope},
		{"string", []byte(`"x"`), events.PoisonMalformedEnvelope},
		{"too large", append(with(nil), make([]byte, events.MaxSize)...), events.PoisonTooLarge},
		{"no specversion", with(map[string]any{"specversion": nil}), events.PoisonBadSpecVersion},
		{"specversion 0.3", with(map[string]any{"specversion": "0.3"}), events.PoisonBadSpecVersion},
		{"specversion number", with(map[string]any{"specversion": 1.0}), events.PoisonBadSpecVersion},
		{"no type", with(map[string]any{"type": nil}), events.PoisonMalformedEnvelope},
		{"type not a string", with(map[string]any{"type": 5}), events.PoisonMalformedEnvelope},
		{"unknown type", with(map[string]any{"type": "com.example.thing"}), events.PoisonUnknownType},
		{"unknown version", with(map[string]any{"type": "raprov.provisioning.accepted.v2"}), events.PoisonUnknownType},
		{"type case differs", with(map[string]any{"type": "raprov.Provisioning.Accepted.v1"}), events.PoisonUnknownType},
		{"no id", with(map[string]any{"id": nil}), events.PoisonMalformedEnvelope},
		{"empty id", with(map[string]any{"id": ""}), events.PoisonMalformedEnvelope},
		{"id not a string", with(map[string]any{"id": 42}), events.PoisonMalformedEnvelope},
		{"no source", with(map[string]any{"source": nil}), events.PoisonMalformedEnvelope},
		{"source not a URI reference", with(map[string]any{"source": "raprov/%zz"}), events.PoisonMalformedEnvelope},
		{"no time", with(map[string]any{"time": nil}), events.PoisonMalformedEnvelope},
		{"time not RFC 3339", with(map[string]any{"time": "25/11/2026 09:00"}), events.PoisonMalformedEnvelope},
		{"time without zone", with(map[string]any{"time": "2026-11-25T09:00:00"}), events.PoisonMalformedEnvelope},
		{"subject not a string", with(map[string]any{"subject": true}), events.PoisonMalformedEnvelope},
		{"subject differs from requestId", with(map[string]any{"subject": "r-2"}), events.PoisonMalformedEnvelope},
		{"no subject", with(map[string]any{"subject": nil}), events.PoisonMalformedEnvelope},
		{"xml data", with(map[string]any{"datacontenttype": "application/xml"}), events.PoisonMalformedEnvelope},
		{"bad datacontenttype", with(map[string]any{"datacontenttype": ";;"}), events.PoisonMalformedEnvelope},
		{"binary data", with(map[string]any{"data": nil, "data_base64": "e30="}), events.PoisonMalformedEnvelope},
		{"negative attempt", with(map[string]any{"attempt": -1}), events.PoisonMalformedEnvelope},
		{"fractional attempt", with(map[string]any{"attempt": 1.5}), events.PoisonMalformedEnvelope},
		{"attempt as string", with(map[string]any{"attempt": "1"}), events.PoisonMalformedEnvelope},
		{"attempt overflows int32", with(map[string]any{"attempt": 1 << 31}), events.PoisonMalformedEnvelope},
		{"replaycount as bool", with(map[string]any{"replaycount": false}), events.PoisonMalformedEnvelope},
		{"no data", with(map[string]any{"data": nil}), events.PoisonMalformedData},
		{"data is a string", with(map[string]any{"data": "{}"}), events.PoisonMalformedData},
		{"data is an array", with(map[string]any{"data": []any{}}), events.PoisonMalformedData},
		{"request field mistyped", with(map[string]any{"data": map[string]any{"request": map[string]any{"requestId": 7}}}), events.PoisonMalformedData},
		{"progress count mistyped", with(map[string]any{"data": map[string]any{"request": map[string]any{"requestId": "r-1"}, "progress": map[string]any{"numberPolls": "two"}}}), events.PoisonMalformedData},
		{"progress time invalid", with(map[string]any{"data": map[string]any{"request": map[string]any{"requestId": "r-1"}, "progress": map[string]any{"acceptedAt": "yesterday"}}}), events.PoisonMalformedData},
		{"failed without failure", with(failedData(nil)), events.PoisonMalformedData},
		{"failure with unknown reason", with(failedData(map[string]any{"reason": "bad_luck", "step": "intake", "message": "x"})), events.PoisonMalformedData},
		{"field error with unknown reason", with(failedData(map[string]any{"reason": "invalid_request", "step": "intake", "message": "x",
			"errors": []any{map[string]any{"field": "x", "reason": "nope", "message": "x"}}})), events.PoisonMalformedData},
		{"failure on a success event", with(map[string]any{"data": map[string]any{"request": map[string]any{"requestId": "r-1"},
			"failure": map[string]any{"reason": "rejected", "step": "intake", "message": "x"}}}), events.PoisonMalformedData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := events.Decode(tt.doc)
			var pe *events.PoisonError
			if !errors.As(err, &pe) {
				t.Fatalf("Decode = %+v, %v; want a *PoisonError", e, err)
			}
			if pe.Reason != tt.reason {
				t.Errorf("reason = %s (%s), want %s", pe.Reason, pe.Detail, tt.reason)
			}
			if pe.Detail == "" || !strings.Contains(err.Error(), pe.Reason) {
				t.Errorf("error %q lacks reason or detail", err)
			}
		})
	}
}

func TestUnknownVersionDetail(t *testing.T) {
	_, err := events.Decode(with(map[string]any{"type": "raprov.license.available.v2"}))
	if err == nil || !strings.Contains(err.Error(), "version v2") || !strings.Contains(err.Error(), events.TypeLicenseAvailable) {
		t.Errorf("error %v does not name the version and the known type", err)
	}
}

func TestEncodeRefusesPoison(t *testing.T) {
	good := func() events.Event {
		return events.New(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense),
			events.Data{Request: events.Request{RequestID: "r-1"}})
	}
	big := good()
	big.Data.Request.DisplayName = strings.Repeat("x", events.MaxSize)
	tests := []struct {
		name   string
		mutate func(*events.Event)
		reason string
	}{
		{"unknown type", func(e *events.Event) { e.Type = "raprov.license.available.v9" }, events.PoisonUnknownType},
		{"no id", func(e *events.Event) { e.ID = "" }, events.PoisonMalformedEnvelope},
		{"no source", func(e *events.Event) { e.Source = "" }, events.PoisonMalformedEnvelope},
		{"no time", func(e *events.Event) { e.Time = time.Time{} }, events.PoisonMalformedEnvelope},
		{"time beyond year 9999", func(e *events.Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, events.PoisonMalformedEnvelope},
		{"negative attempt", func(e *events.Event) { e.Attempt = -1 }, events.PoisonMalformedEnvelope},
		{"subject mismatch", func(e *events.Event) { e.Subject = "other" }, events.PoisonMalformedEnvelope},
		{"failure on success type", func(e *events.Event) { e.Data.Failure = &events.Failure{Reason: events.ReasonRejected} }, events.PoisonMalformedData},
		{"failed without failure", func(e *events.Event) { e.Type = events.TypeProvisioningFailed }, events.PoisonMalformedData},
		{"too large", func(e *events.Event) { *e = big }, events.PoisonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good()
			tt.mutate(&e)
			b, err := events.Encode(e)
			var pe *events.PoisonError
			if !errors.As(err, &pe) {
				t.Fatalf("Encode = %s, %v; want a *PoisonError", b, err)
			}
			if pe.Reason != tt.reason {
				t.Errorf("reason = %s (%s), want %s", pe.Reason, pe.Detail, tt.reason)
			}
		})
	}
}

func TestSizeLimitBoundary(t *testing.T) {
	e := events.New(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense),
		events.Data{Request: events.Request{RequestID: "r-1"}})
	base := len(mustEncode(t, e))
	e.Data.Request.DisplayName = strings.Repeat("x", events.MaxSize-base-len(`,"displayName":""`))
	b := mustEncode(t, e)
	if len(b) != events.MaxSize {
		t.Fatalf("built a %d-byte event, want exactly MaxSize %d", len(b), events.MaxSize)
	}
	mustDecode(t, b)

	e.Data.Request.DisplayName += "x"
	if _, err := events.Encode(e); err == nil {
		t.Errorf("Encode accepted a %d-byte event", events.MaxSize+1)
	}
}

// BenchmarkCodec decodes and encodes a mid-chain event, as every hop does.
func BenchmarkCodec(b *testing.B) {
	raw := testdataFiles(b)["number.assignmentPending.json"]
	if raw == nil {
		b.Fatal("testdata/number.assignmentPending.json is missing")
	}
	ev := mustDecode(b, raw)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := events.Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := events.Encode(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
