package mapping

import (
	"strings"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
)

// TestAlpha3Table checks the table's shape and that it converts to exactly
// the alpha-2 codes intake accepts as usageLocation.
func TestAlpha3Table(t *testing.T) {
	pairs := strings.Fields(alpha3)
	if len(pairs) != 249 {
		t.Errorf("%d pairs, want 249", len(pairs))
	}
	seen3, seen2 := map[string]bool{}, map[string]bool{}
	prev := ""
	for _, p := range pairs {
		if len(p) != 5 || strings.ToUpper(p) != p {
			t.Fatalf("pair %q is not five capital letters", p)
		}
		a3, a2 := p[:3], p[3:]
		if seen3[a3] || seen2[a2] {
			t.Errorf("%s or %s appears twice", a3, a2)
		}
		if a3 <= prev {
			t.Errorf("%s is out of order", a3)
		}
		seen3[a3], seen2[a2], prev = true, true, a3
		got, ok := alpha3To2(strings.ToLower(a3))
		if !ok || got != a2 {
			t.Errorf("alpha3To2(%s) = %s, %v", a3, got, ok)
		}
		r := events.Request{DisplayName: "x", UserPrincipalName: "x@contoso.com", AccountType: "aa", UsageLocation: a2}
		if _, errs := validate.Normalize(r, validate.Options{}); len(errs) > 0 {
			t.Errorf("%s → %s: %v", a3, a2, errs)
		}
	}
	for _, c := range []string{"", "DE", "XKX", "EUR", "DEUT", "ÄÖÜ"} {
		if got, ok := alpha3To2(c); ok {
			t.Errorf("alpha3To2(%q) = %q, true", c, got)
		}
	}
	for a3, a2 := range map[string]string{"USA": "US", "DEU": "DE", "GBR": "GB", "IRL": "IE", "CHE": "CH", "KOR": "KR", "NLD": "NL"} {
		if got, _ := alpha3To2(a3); got != a2 {
			t.Errorf("alpha3To2(%s) = %s, want %s", a3, got, a2)
		}
	}
}
