package graph

import (
	"strings"
	"testing"
	"time"
	"unicode"
)

func TestParseRetryAfter(t *testing.T) {
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
		{"Tue, 06 Jan 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Tue, 06 Jan 2026 11:59:00 GMT", 0, true}, // in the past
		{"", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"1e300", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"aa@contoso.com":     "'aa@contoso.com'",
		"o'neil@contoso.com": "'o''neil@contoso.com'",
		"''":                 "''''''",
	}
	for in, want := range tests {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p := newPassword()
		if len(p) != 32 {
			t.Fatalf("password length %d, want 32", len(p))
		}
		var lower, upper, digit, symbol bool
		for _, r := range p {
			switch {
			case unicode.IsLower(r):
				lower = true
			case unicode.IsUpper(r):
				upper = true
			case unicode.IsDigit(r):
				digit = true
			case strings.ContainsRune(symbols, r):
				symbol = true
			default:
				t.Fatalf("unexpected character %q", r)
			}
		}
		if !lower || !upper || !digit || !symbol {
			t.Fatalf("password lacks a character class: lower=%v upper=%v digit=%v symbol=%v", lower, upper, digit, symbol)
		}
		if seen[p] {
			t.Fatal("password repeated")
		}
		seen[p] = true
	}
}
