package events_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
)

// FuzzDecode checks that Decode never panics, that everything it rejects is
// a *PoisonError, and that everything it accepts survives Encode and Decode
// unchanged.
func FuzzDecode(f *testing.F) {
	for _, b := range testdataFiles(f) {
		f.Add(b)
	}
	f.Add(with(nil))
	f.Add([]byte(`{"specversion":"1.0"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := events.Decode(b)
		if err != nil {
			var pe *events.PoisonError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("Decode error %v is not a *PoisonError with a reason", err)
			}
			return
		}
		enc, err := events.Encode(e)
		if err != nil {
			t.Fatalf("Encode of a decoded event: %v", err)
		}
		again, err := events.Decode(enc)
		if err != nil {
			t.Fatalf("Decode of an encoded event: %v\n%s", err, enc)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Fatalf("round trip changed the event (-first +second):\n%s", diff)
		}
	})
}
