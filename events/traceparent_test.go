package events_test

import (
	"testing"

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
