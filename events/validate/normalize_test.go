package validate_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
)

// base is a valid request; each case changes one field.
func base() events.Request {
	return events.Request{
		RequestID:         "INC0012345",
		DisplayName:       "Contoso Main Line",
		UserPrincipalName: "ra-mainline@contoso.com",
		AccountType:       "autoAttendant",
		UsageLocation:     "US",
	}
}

var opts = validate.Options{VerifiedDomains: []string{"contoso.com", "Contoso.onmicrosoft.com."}}

func TestNormalizeValid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*events.Request)
		want   func(*events.Request) // expected normalised fields on top of base
	}{
		{"base", func(r *events.Request) {}, func(r *events.Request) { r.NumberType = "callingPlan" }},

		// requestId
		{"requestId trimmed", func(r *events.Request) { r.RequestID = "  HR-2026/11#7 " }, func(r *events.Request) { r.RequestID = "HR-2026/11#7" }},
		{"requestId 128 chars", func(r *events.Request) { r.RequestID = strings.Repeat("a", 128) }, func(r *events.Request) { r.RequestID = strings.Repeat("a", 128) }},

		// displayName
		{"displayName trimmed", func(r *events.Request) { r.DisplayName = "\t Main Line  " }, func(r *events.Request) { r.DisplayName = "Main Line" }},
		{"displayName unicode, 256 chars", func(r *events.Request) { r.DisplayName = strings.Repeat("é", 256) }, func(r *events.Request) { r.DisplayName = strings.Repeat("é", 256) }},

		// userPrincipalName
		{"upn lower-cased", func(r *events.Request) { r.UserPrincipalName = " RA-MainLine@Contoso.COM " }, nil},
		{"upn all allowed characters", func(r *events.Request) { r.UserPrincipalName = "a'b.c-d_e!f#g^h~i09@contoso.com" }, nil},
		{"upn verified domain case-insensitive with trailing dot in config", func(r *events.Request) { r.UserPrincipalName = "ra@contoso.onmicrosoft.com" }, nil},
		{"upn 64-char alias", func(r *events.Request) { r.UserPrincipalName = strings.Repeat("a", 64) + "@contoso.com" }, nil},

		// accountType
		{"accountType AA", func(r *events.Request) { r.AccountType = "AA" }, func(r *events.Request) { r.AccountType = "autoAttendant" }},
		{"accountType AutoAttendant", func(r *events.Request) { r.AccountType = "AutoAttendant" }, func(r *events.Request) { r.AccountType = "autoAttendant" }},
		{"accountType cq", func(r *events.Request) { r.AccountType = " cq " }, func(r *events.Request) { r.AccountType = "callQueue" }},
		{"accountType CALLQUEUE", func(r *events.Request) { r.AccountType = "CALLQUEUE" }, func(r *events.Request) { r.AccountType = "callQueue" }},

		// usageLocation
		{"usageLocation upper-cased", func(r *events.Request) { r.UsageLocation = " de " }, func(r *events.Request) { r.UsageLocation = "DE" }},
		{"usageLocation AX", func(r *events.Request) { r.UsageLocation = "ax" }, func(r *events.Request) { r.UsageLocation = "AX" }},

		// phoneNumber
		{"phone E.164", func(r *events.Request) { r.PhoneNumber = "+14255550100" }, nil},
		{"phone national US", func(r *events.Request) { r.PhoneNumber = "(425) 555-0100" }, func(r *events.Request) { r.PhoneNumber = "+14255550100" }},
		{"phone national DE", func(r *events.Request) { r.UsageLocation, r.PhoneNumber = "DE", "030 1234567" }, func(r *events.Request) { r.UsageLocation, r.PhoneNumber = "DE", "+49301234567" }},
		{"phone international with spaces", func(r *events.Request) { r.PhoneNumber = "+44 20 7946 0958" }, func(r *events.Request) { r.PhoneNumber = "+442079460958" }},
		{"phone IDD prefix from usage location", func(r *events.Request) { r.UsageLocation, r.PhoneNumber = "DE", "0044 20 7946 0958" }, func(r *events.Request) { r.UsageLocation, r.PhoneNumber = "DE", "+442079460958" }},
		{"phone tel URI", func(r *events.Request) { r.PhoneNumber = "tel:+1-425-555-0100" }, func(r *events.Request) { r.PhoneNumber = "+14255550100" }},
		{"phone of another country than usage location", func(r *events.Request) { r.PhoneNumber = "+49301234567" }, nil},

		// numberType
		{"numberType default", func(r *events.Request) { r.NumberType = "" }, func(r *events.Request) { r.NumberType = "callingPlan" }},
		{"numberType operatorConnect any case", func(r *events.Request) { r.NumberType = "OPERATORCONNECT" }, func(r *events.Request) { r.NumberType = "operatorConnect" }},
		{"numberType directRouting", func(r *events.Request) { r.NumberType = "directRouting" }, nil},

		// associateWith
		{"associateWith lower-cased", func(r *events.Request) { r.AssociateWith = "3F2C1E9A-8D1B-4A55-9C3E-2B7F6D0A1C44" }, func(r *events.Request) { r.AssociateWith = "3f2c1e9a-8d1b-4a55-9c3e-2b7f6d0a1c44" }},
		{"associateWith braces", func(r *events.Request) { r.AssociateWith = "{3f2c1e9a-8d1b-4a55-9c3e-2b7f6d0a1c44}" }, func(r *events.Request) { r.AssociateWith = "3f2c1e9a-8d1b-4a55-9c3e-2b7f6d0a1c44" }},

		// callbackUrl
		{"callback https", func(r *events.Request) { r.CallbackURL = " https://hooks.contoso.com:8443/raprov?team=voice&x=1 " }, func(r *events.Request) { r.CallbackURL = "https://hooks.contoso.com:8443/raprov?team=voice&x=1" }},
		{"callback HTTPS scheme", func(r *events.Request) { r.CallbackURL = "HTTPS://hooks.contoso.com/" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.change(&in)
			want := in
			want.UserPrincipalName = strings.ToLower(strings.TrimSpace(want.UserPrincipalName))
			if want.NumberType == "" {
				want.NumberType = "callingPlan"
			}
			if tt.want != nil {
				tt.want(&want)
			}
			got, errs := validate.Normalize(in, opts)
			if len(errs) != 0 {
				t.Fatalf("Normalize errors: %v", errs)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeGeneratesRequestID(t *testing.T) {
	for _, id := range []string{"", "   "} {
		r := base()
		r.RequestID = id
		got, errs := validate.Normalize(r, opts)
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		u, err := uuid.Parse(got.RequestID)
		if err != nil || u.Version() != 7 {
			t.Errorf("generated requestId %q is not a UUIDv7", got.RequestID)
		}
	}
}

func TestNormalizeWithoutVerifiedDomains(t *testing.T) {
	r := base()
	r.UserPrincipalName = "ra@fabrikam.example"
	if _, errs := validate.Normalize(r, validate.Options{}); len(errs) != 0 {
		t.Errorf("errors without a verified-domain list: %v", errs)
	}
}

func TestNormalizeInvalid(t *testing.T) {
	const invalid, unverified = events.ReasonInvalidRequest, events.ReasonDomainNotVerified
	tests := []struct {
		name    string
		change  func(*events.Request)
		field   string
		reason  events.Reason
		message string // substring of the message
	}{
		// requestId
		{"requestId with space", func(r *events.Request) { r.RequestID = "INC 1" }, "requestId", invalid, "contains a space"},
		{"requestId non-ASCII", func(r *events.Request) { r.RequestID = "tické" }, "requestId", invalid, "visible ASCII"},
		{"requestId control", func(r *events.Request) { r.RequestID = "a\x00b" }, "requestId", invalid, "U+0000"},
		{"requestId too long", func(r *events.Request) { r.RequestID = strings.Repeat("a", 129) }, "requestId", invalid, "129 characters long; the maximum is 128"},

		// displayName
		{"displayName missing", func(r *events.Request) { r.DisplayName = "" }, "displayName", invalid, "required"},
		{"displayName blank", func(r *events.Request) { r.DisplayName = " \t " }, "displayName", invalid, "required"},
		{"displayName too long", func(r *events.Request) { r.DisplayName = strings.Repeat("x", 257) }, "displayName", invalid, "257 characters long; the maximum is 256"},
		{"displayName control char", func(r *events.Request) { r.DisplayName = "Main\nLine" }, "displayName", invalid, "control character U+000A"},
		{"displayName right-to-left override", func(r *events.Request) { r.DisplayName = "Main \u202eenil" }, "displayName", invalid, "control character U+202E"},
		{"displayName invalid UTF-8", func(r *events.Request) { r.DisplayName = "Main \xff" }, "displayName", invalid, "UTF-8"},

		// userPrincipalName
		{"upn missing", func(r *events.Request) { r.UserPrincipalName = "" }, "userPrincipalName", invalid, "required"},
		{"upn no @", func(r *events.Request) { r.UserPrincipalName = "ra.contoso.com" }, "userPrincipalName", invalid, "alias@domain"},
		{"upn two @", func(r *events.Request) { r.UserPrincipalName = "ra@x@contoso.com" }, "userPrincipalName", invalid, "single @"},
		{"upn empty alias", func(r *events.Request) { r.UserPrincipalName = "@contoso.com" }, "userPrincipalName", invalid, "alias before the @ is empty"},
		{"upn accent", func(r *events.Request) { r.UserPrincipalName = "rené@contoso.com" }, "userPrincipalName", invalid, "contains 'é'"},
		{"upn space", func(r *events.Request) { r.UserPrincipalName = "main line@contoso.com" }, "userPrincipalName", invalid, "contains a space"},
		{"upn plus", func(r *events.Request) { r.UserPrincipalName = "ra+aa@contoso.com" }, "userPrincipalName", invalid, "contains '+'"},
		{"upn leading dot", func(r *events.Request) { r.UserPrincipalName = ".ra@contoso.com" }, "userPrincipalName", invalid, "start or end with a dot"},
		{"upn trailing dot", func(r *events.Request) { r.UserPrincipalName = "ra.@contoso.com" }, "userPrincipalName", invalid, "start or end with a dot"},
		{"upn double dot", func(r *events.Request) { r.UserPrincipalName = "r..a@contoso.com" }, "userPrincipalName", invalid, "two dots"},
		{"upn alias too long", func(r *events.Request) { r.UserPrincipalName = strings.Repeat("a", 65) + "@contoso.com" }, "userPrincipalName", invalid, "65 characters long; the maximum is 64"},
		{"upn empty domain", func(r *events.Request) { r.UserPrincipalName = "ra@" }, "userPrincipalName", invalid, "domain after the @ is empty"},
		{"upn single-label domain", func(r *events.Request) { r.UserPrincipalName = "ra@localhost" }, "userPrincipalName", invalid, "fully qualified"},
		{"upn domain label with underscore", func(r *events.Request) { r.UserPrincipalName = "ra@con_toso.com" }, "userPrincipalName", invalid, "not a valid DNS name"},
		{"upn domain label starting with hyphen", func(r *events.Request) { r.UserPrincipalName = "ra@-contoso.com" }, "userPrincipalName", invalid, "not a valid DNS name"},
		{"upn domain empty label", func(r *events.Request) { r.UserPrincipalName = "ra@contoso..com" }, "userPrincipalName", invalid, "not a valid DNS name"},
		{"upn domain trailing dot", func(r *events.Request) { r.UserPrincipalName = "ra@contoso.com." }, "userPrincipalName", invalid, "not a valid DNS name"},
		{"upn IP address", func(r *events.Request) { r.UserPrincipalName = "ra@10.0.0.1" }, "userPrincipalName", invalid, "numeric"},
		{"upn unicode domain", func(r *events.Request) { r.UserPrincipalName = "ra@bücher.de" }, "userPrincipalName", invalid, "punycode"},
		{"upn domain too long", func(r *events.Request) { r.UserPrincipalName = "ra@" + strings.Repeat("a", 45) + ".com" }, "userPrincipalName", invalid, "at most 48"},
		{"upn domain not verified", func(r *events.Request) { r.UserPrincipalName = "ra@fabrikam.com" }, "userPrincipalName", unverified, `"fabrikam.com" is not one of the tenant's verified domains`},
		{"upn subdomain not verified", func(r *events.Request) { r.UserPrincipalName = "ra@voice.contoso.com" }, "userPrincipalName", unverified, "verified domains"},

		// accountType
		{"accountType missing", func(r *events.Request) { r.AccountType = "" }, "accountType", invalid, "required"},
		{"accountType unknown", func(r *events.Request) { r.AccountType = "user" }, "accountType", invalid, `"user" is not supported`},

		// usageLocation
		{"usageLocation missing", func(r *events.Request) { r.UsageLocation = "" }, "usageLocation", invalid, "required"},
		{"usageLocation UK", func(r *events.Request) { r.UsageLocation = "uk" }, "usageLocation", invalid, "use GB"},
		{"usageLocation unassigned", func(r *events.Request) { r.UsageLocation = "XX" }, "usageLocation", invalid, "not an ISO 3166-1 alpha-2"},
		{"usageLocation alpha-3", func(r *events.Request) { r.UsageLocation = "USA" }, "usageLocation", invalid, "not an ISO 3166-1 alpha-2"},
		{"usageLocation user-assigned XK", func(r *events.Request) { r.UsageLocation = "XK" }, "usageLocation", invalid, "not an ISO 3166-1 alpha-2"},

		// phoneNumber
		{"phone letters only", func(r *events.Request) { r.PhoneNumber = "call me" }, "phoneNumber", invalid, "not a phone number"},
		{"phone national without usage location", func(r *events.Request) { r.UsageLocation, r.PhoneNumber = "", "030 1234567" }, "phoneNumber", invalid, "no country code"},
		{"phone national with usage location without numbering plan", func(r *events.Request) { r.UsageLocation, r.PhoneNumber = "AQ", "020 7946 0958" }, "phoneNumber", invalid, "no country code"},
		{"phone national with invalid usage location", func(r *events.Request) { r.UsageLocation, r.PhoneNumber = "UK", "020 7946 0958" }, "phoneNumber", invalid, "no country code"},
		{"phone bad country code", func(r *events.Request) { r.PhoneNumber = "+999 1234567" }, "phoneNumber", invalid, "country code"},
		{"phone too short", func(r *events.Request) { r.PhoneNumber = "+1 425" }, "phoneNumber", invalid, "too short"},
		{"phone too long", func(r *events.Request) { r.PhoneNumber = "+1 425 555 0100 1234" }, "phoneNumber", invalid, "too long"},
		{"phone impossible range", func(r *events.Request) { r.PhoneNumber = "+1 011 555 0100" }, "phoneNumber", invalid, "not a valid number for country code +1"},
		{"phone extension", func(r *events.Request) { r.PhoneNumber = "+14255550100 ext. 12" }, "phoneNumber", invalid, "extension"},
		{"phone far too long", func(r *events.Request) { r.PhoneNumber = "+" + strings.Repeat("1", 300) }, "phoneNumber", invalid, "too long"},

		// numberType
		{"numberType unknown", func(r *events.Request) { r.NumberType = "sip" }, "numberType", invalid, `"sip" is not supported`},

		// associateWith
		{"associateWith not a GUID", func(r *events.Request) { r.AssociateWith = "Main AA" }, "associateWith", invalid, "not a GUID"},
		{"associateWith without hyphens", func(r *events.Request) { r.AssociateWith = "3f2c1e9a8d1b4a559c3e2b7f6d0a1c44" }, "associateWith", invalid, "not a GUID"},
		{"associateWith nil GUID", func(r *events.Request) { r.AssociateWith = "00000000-0000-0000-0000-000000000000" }, "associateWith", invalid, "not a GUID"},
		{"associateWith one brace", func(r *events.Request) { r.AssociateWith = "{3f2c1e9a-8d1b-4a55-9c3e-2b7f6d0a1c44" }, "associateWith", invalid, "not a GUID"},

		// callbackUrl
		{"callback http", func(r *events.Request) { r.CallbackURL = "http://hooks.contoso.com/raprov" }, "callbackUrl", invalid, "https://"},
		{"callback relative", func(r *events.Request) { r.CallbackURL = "/raprov/callback" }, "callbackUrl", invalid, "https://"},
		{"callback no host", func(r *events.Request) { r.CallbackURL = "https:///path" }, "callbackUrl", invalid, "host"},
		{"callback opaque", func(r *events.Request) { r.CallbackURL = "https:hooks.contoso.com" }, "callbackUrl", invalid, "host"},
		{"callback credentials", func(r *events.Request) { r.CallbackURL = "https://bob:s3cret@hooks.contoso.com/" }, "callbackUrl", invalid, "user name or password"},
		{"callback unparsable", func(r *events.Request) { r.CallbackURL = "https://hooks.contoso.com/%zz" }, "callbackUrl", invalid, "not a valid URL"},
		{"callback bad port", func(r *events.Request) { r.CallbackURL = "https://hooks.contoso.com:http/" }, "callbackUrl", invalid, "not a valid URL"},
		{"callback too long", func(r *events.Request) { r.CallbackURL = "https://hooks.contoso.com/" + strings.Repeat("a", 2048) }, "callbackUrl", invalid, "the maximum is 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.change(&in)
			_, errs := validate.Normalize(in, opts)
			// Only the changed field is wrong; a national phone number
			// without a valid usageLocation also makes usageLocation wrong.
			errs = slices.DeleteFunc(errs, func(e events.FieldError) bool {
				return e.Field == "usageLocation" && tt.field == "phoneNumber"
			})
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.Field != tt.field || e.Reason != tt.reason || !strings.Contains(e.Message, tt.message) {
				t.Errorf("got %s %s %q; want %s %s containing %q", e.Field, e.Reason, e.Message, tt.field, tt.reason, tt.message)
			}
			if !strings.HasPrefix(e.Message, tt.field) {
				t.Errorf("message %q does not start with the field name", e.Message)
			}
		})
	}
}

func TestNormalizeReportsEveryField(t *testing.T) {
	in := events.Request{
		RequestID:         "bad id",
		UserPrincipalName: "ra@fabrikam.com",
		AccountType:       "x",
		UsageLocation:     "zz",
		PhoneNumber:       "12",
		NumberType:        "y",
		AssociateWith:     "z",
		CallbackURL:       "ftp://x",
	}
	got, errs := validate.Normalize(in, opts)
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	want := []string{"requestId", "displayName", "userPrincipalName", "accountType", "usageLocation",
		"phoneNumber", "numberType", "associateWith", "callbackUrl"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("fields in error (-want +got):\n%s", diff)
	}
	if got.UsageLocation != "ZZ" || got.RequestID != "bad id" {
		t.Errorf("partially normalised request = %+v", got)
	}
}

func TestCallbackMessagesDoNotLeakTheURL(t *testing.T) {
	in := base()
	in.CallbackURL = "https://bob:s3cret@hooks.contoso.com/?token=abc"
	_, errs := validate.Normalize(in, opts)
	for _, e := range errs {
		if strings.Contains(e.Message, "s3cret") || strings.Contains(e.Message, "abc") {
			t.Errorf("message leaks the URL: %s", e.Message)
		}
	}
	if len(errs) == 0 {
		t.Fatal("no error")
	}
}

func TestLongValuesAreShortenedInMessages(t *testing.T) {
	in := base()
	in.AccountType = strings.Repeat("x", 10_000)
	_, errs := validate.Normalize(in, opts)
	if len(errs) != 1 || len(errs[0].Message) > 200 {
		t.Errorf("errors = %v", errs)
	}
}

func TestInvalidCallbackURLIsDropped(t *testing.T) {
	for _, u := range []string{"https://user:pass@hooks.example.com/x", "http://hooks.example.com/x", "https:///nohost"} {
		r := base()
		r.CallbackURL = u
		got, errs := validate.Normalize(r, validate.Options{})
		if len(errs) == 0 || got.CallbackURL != "" {
			t.Errorf("%s: errs %v, callbackUrl kept as %q", u, errs, got.CallbackURL)
		}
	}
}
