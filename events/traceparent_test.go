package events_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
)

func TestValidTraceParent(t *testing.T) {
	const (
		trace  = "4bf92f3577b34da6a3ce929d0e0e4736"
		parent = "00f067aa0ba902b7"
	)
	tests := []struct {
		in   string
		want bool
	}{
		{"00-" + trace + "-" + parent + "-01", true},
		{"00-" + trace + "-" + parent + "-00", true},
		{"01-" + trace + "-" + parent + "-01", true},                               // later version, same fields
		{"cc-" + trace + "-" + parent + "-01-what-ever", true},                     // later versions may append fields
		{"00-" + trace + "-" + parent + "-01-extra", false},                        // version 00 may not
		{"cc-" + trace + "-" + parent + "-01extra", false},                         // appended data needs a dash
		{"ff-" + trace + "-" + parent + "-01", false},                              // invalid version
		{"00-" + "4BF92F3577B34DA6A3CE929D0E0E4736" + "-" + parent + "-01", false}, // upper case
		{"00-00000000000000000000000000000000-" + parent + "-01", false},
		{"00-" + trace + "-0000000000000000-01", false},
		{"00-" + trace[:31] + "-" + parent + "-01", false},
		{"00-" + trace + "-" + parent + "-0g", false},
		{"00_" + trace + "-" + parent + "-01", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := events.ValidTraceParent(tt.in); got != tt.want {
			t.Errorf("ValidTraceParent(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseTraceParent(t *testing.T) {
	const s = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	c, ok := events.ParseTraceParent(s)
	if !ok || !c.Valid() || !c.Sampled() {
		t.Fatalf("ParseTraceParent(%q) = %+v, %v", s, c, ok)
	}
	if c.TraceID != [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36} ||
		c.ParentID != [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7} || c.Flags != 0x01 {
		t.Errorf("fields %+v", c)
	}
	if got := c.String(); got != s {
		t.Errorf("String() = %q, want %q", got, s)
	}
	// A later version is read by its first four fields and handed on as 00.
	c, ok = events.ParseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe-what-ever")
	if !ok || c.String() != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe" || c.Sampled() {
		t.Errorf("later version: %q, %v", c.String(), ok)
	}
	for _, bad := range []string{"", "00-xyz", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"} {
		if c, ok := events.ParseTraceParent(bad); ok || c != (events.TraceContext{}) || c.String() != "" {
			t.Errorf("ParseTraceParent(%q) = %+v, %v; want the zero value, false", bad, c, ok)
		}
	}
	if got := events.TraceID(s); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("TraceID = %q", got)
	}
	if got := events.TraceID("00-xyz"); got != "" {
		t.Errorf("TraceID of an invalid traceparent = %q", got)
	}
}

func TestNewTraceContextAndChild(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := events.NewTraceContext()
		s := c.String()
		if !events.ValidTraceParent(s) || !c.Sampled() || seen[s] {
			t.Fatalf("NewTraceContext() = %q (sampled %v, seen %v)", s, c.Sampled(), seen[s])
		}
		seen[s] = true
		if start := time.Unix(int64(binary.BigEndian.Uint32(c.TraceID[:4])), 0); time.Since(start).Abs() > time.Minute {
			t.Fatalf("trace id %x does not start with the time (X-Ray's form): %v", c.TraceID, start)
		}
		child := c.Child()
		if child.TraceID != c.TraceID || child.Flags != c.Flags || child.ParentID == c.ParentID || !child.Valid() {
			t.Fatalf("Child of %q = %q: want the same trace and flags, a new parent id", s, child.String())
		}
	}
}

// An invalid traceparent on an event is left out when encoding, as Decode
// would drop it: never an error.
func TestEncodeDropsInvalidTraceParent(t *testing.T) {
	e := events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: events.Request{RequestID: "r-1"}})
	e.TraceParent = "not-a-trace"
	b, err := events.Encode(e)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if strings.Contains(string(b), "traceparent") {
		t.Errorf("encoded an invalid traceparent: %s", b)
	}
	got, err := events.Decode(b)
	if err != nil || got.TraceParent != "" {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
}
