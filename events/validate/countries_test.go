package validate_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nyaruka/phonenumbers"

	"github.com/raprov/raprov/events/validate"
)

func TestCountries(t *testing.T) {
	codes := validate.Countries()
	if len(codes) != 249 {
		t.Errorf("%d codes, ISO 3166-1 has 249 officially assigned", len(codes))
	}
	if !slices.IsSorted(codes) {
		t.Error("codes are not sorted")
	}
	if len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Error("duplicate codes")
	}
	for _, c := range []string{"US", "DE", "GB", "AX", "SS", "BQ"} {
		if !validate.IsCountry(c) {
			t.Errorf("IsCountry(%s) = false", c)
		}
	}
	for _, c := range []string{"UK", "EU", "XK", "AN", "us", "", "USA"} {
		if validate.IsCountry(c) {
			t.Errorf("IsCountry(%s) = true", c)
		}
	}
}

// TestCountriesAgreeWithPhonenumbers checks the table against libphonenumber's
// region list, an independently maintained source: they may differ only by
// the codes listed here, each for a known reason.
func TestCountriesAgreeWithPhonenumbers(t *testing.T) {
	var onlyPhone, onlyISO []string
	for r := range phonenumbers.GetSupportedRegions() {
		if !validate.IsCountry(r) {
			onlyPhone = append(onlyPhone, r)
		}
	}
	supported := phonenumbers.GetSupportedRegions()
	for _, c := range validate.Countries() {
		if !supported[c] {
			onlyISO = append(onlyISO, c)
		}
	}
	slices.Sort(onlyPhone)
	slices.Sort(onlyISO)
	// Regions with their own calling code but no ISO 3166-1 assignment:
	// Ascension Island and Tristan da Cunha (exceptionally reserved) and
	// Kosovo (user-assigned).
	if diff := cmp.Diff([]string{"AC", "TA", "XK"}, onlyPhone); diff != "" {
		t.Errorf("libphonenumber regions missing from the table (-want +got):\n%s", diff)
	}
	// Territories without a telephone numbering plan of their own.
	if diff := cmp.Diff([]string{"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}, onlyISO); diff != "" {
		t.Errorf("table codes libphonenumber does not know (-want +got):\n%s", diff)
	}
}
