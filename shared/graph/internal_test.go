package graph

import (
	"strings"
	"testing"
	"unicode"
)

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
