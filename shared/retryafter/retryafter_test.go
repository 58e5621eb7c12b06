package retryafter_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/retryafter"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"5", 5 * time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{" 2 ", 2 * time.Second, true},
		{"0", 0, true},
		{"86401", 86401 * time.Second, true},
		{"Tue, 06 Jan 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Tue, 06 Jan 2026 11:59:00 GMT", 0, true}, // in the past
		{"", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1e300", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryafter.Parse(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestHeader(t *testing.T) {
	if d := retryafter.Header(http.Header{"Retry-After": {"1.5"}}); d != 1500*time.Millisecond {
		t.Errorf("Header = %v, want 1.5s", d)
	}
	if d := retryafter.Header(http.Header{}); d != 0 {
		t.Errorf("Header without Retry-After = %v, want 0", d)
	}
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if d := retryafter.Header(http.Header{"Retry-After": {future}}); d < 59*time.Minute || d > time.Hour {
		t.Errorf("Header(%s) = %v, want about an hour", future, d)
	}
}
