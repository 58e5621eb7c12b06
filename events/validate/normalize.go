package validate

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nyaruka/phonenumbers"

	"github.com/raprov/raprov/events"
)

// Limits of request fields. The userPrincipalName limits are Microsoft Entra
// ID's (learn.microsoft.com, "Password policies and account restrictions":
// up to 64 characters before the @ and 48 after, hence 113 in all).
const (
	MaxRequestID   = 128
	MaxDisplayName = 256
	MaxAlias       = 64
	MaxDomain      = 48
	MaxCallbackURL = 2048
)

// Options configure Normalize.
type Options struct {
	// VerifiedDomains are the tenant's verified domains. When set, the
	// domain of userPrincipalName must be one of them (case-insensitive,
	// exact match: a subdomain is a domain of its own). When empty, any
	// valid DNS name passes and Microsoft Graph has the last word.
	VerifiedDomains []string
	// CallbackAllowedHosts, when set, are the only hosts a callbackUrl may
	// name: exact names and *.example.com patterns (netguard.HostList,
	// RAPROV_CALLBACK_ALLOWED_HOSTS). It narrows the public-host rule,
	// never widens it.
	CallbackAllowedHosts []string
}

// Normalize validates r and returns it normalised, with one FieldError per
// invalid field in field order. The rules (DESIGN §1):
//
//   - requestId: trimmed; a UUIDv7 is generated when empty; at most 128
//     visible ASCII characters (no spaces), so it is safe as a queue
//     attribute, key and file name, and two ids that look alike are alike.
//   - displayName: trimmed, 1–256 characters, no control characters.
//   - userPrincipalName: trimmed and lower-cased alias@domain. The alias
//     (1–64) uses only A-Z a-z 0-9 ' . - _ ! # ^ ~ and has no leading,
//     trailing or doubled dot; the domain (at most 48) is a fully qualified
//     ASCII DNS name, one of opts.VerifiedDomains when those are set
//     (reason domain_not_verified).
//   - accountType: autoAttendant or callQueue; AutoAttendant, AA, CallQueue
//     and CQ are accepted in any case, as TeamsFunctions does.
//   - usageLocation: an officially assigned ISO 3166-1 alpha-2 code, in any
//     case (upper-cased).
//   - phoneNumber: optional; E.164, or national format read with
//     usageLocation as the region; must be a valid number without
//     extension; normalised to E.164.
//   - numberType: callingPlan (default), operatorConnect or directRouting,
//     in any case.
//   - associateWith: optional GUID (braces allowed), normalised to lower
//     case.
//   - callbackUrl: optional absolute https URL with a host and no user
//     information, at most 2048 characters; the host must be public
//     (checkCallbackHost: no loopback, private, link-local, metadata or
//     other internal host, no numeric spelling of an address) and one of
//     opts.CallbackAllowedHosts when those are set.
//
// Every error has reason invalid_request except an unverified domain. The
// returned request is normalised as far as possible even when there are
// errors (the request id in particular), so that a provisioning.failed event
// can carry it; use it for provisioning only when there are none.
//
// A deprovision request (action deprovision) is checked by other rules; see
// normalizeDeprovision. Any other action is invalid.
func Normalize(r events.Request, opts Options) (events.Request, []events.FieldError) {
	var v validator
	switch r.Action {
	case events.ActionProvision:
	case events.ActionDeprovision:
		return v.deprovision(r, opts)
	default:
		out := events.Request{RequestID: v.requestID(r.RequestID)}
		v.invalid("action", "action %s is not one of deprovision or empty (provision)", quote(r.Action))
		return out, v.errs
	}
	out := events.Request{
		RequestID:         v.requestID(r.RequestID),
		DisplayName:       v.displayName(r.DisplayName),
		UserPrincipalName: v.userPrincipalName(r.UserPrincipalName, opts.VerifiedDomains),
		AccountType:       v.accountType(r.AccountType),
		UsageLocation:     v.usageLocation(r.UsageLocation),
		Adopt:             r.Adopt,
	}
	out.PhoneNumber = v.phoneNumber(r.PhoneNumber, out.UsageLocation)
	out.NumberType = v.numberType(r.NumberType)
	out.AssociateWith = v.associateWith(r.AssociateWith)
	out.CallbackURL = v.callbackURL(r.CallbackURL, opts.CallbackAllowedHosts)
	return out, v.errs
}

// deprovision normalises a deprovision request: requestId and callbackUrl
// as for provisioning; userPrincipalName (required: the account is found by
// it) by the same rules; target, the provisioning request whose account is
// removed, optional, by requestId's rules. The fields that describe an
// account to create are not used and are dropped, so a bulk file may carry
// provisioning columns on its deprovision rows.
func (v *validator) deprovision(r events.Request, opts Options) (events.Request, []events.FieldError) {
	out := events.Request{
		RequestID:         v.requestID(r.RequestID),
		UserPrincipalName: v.userPrincipalName(r.UserPrincipalName, opts.VerifiedDomains),
		Action:            events.ActionDeprovision,
		Target:            v.target(r.Target),
	}
	out.CallbackURL = v.callbackURL(r.CallbackURL, opts.CallbackAllowedHosts)
	return out, v.errs
}

// target checks a deprovision request's target request id; empty is allowed.
func (v *validator) target(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var t validator
	s = t.requestID(s)
	for _, e := range t.errs {
		v.invalid("target", "target: %s", e.Message)
	}
	return s
}

// validator collects field errors.
type validator struct {
	errs []events.FieldError
}

func (v *validator) fail(field string, reason events.Reason, format string, args ...any) {
	v.errs = append(v.errs, events.FieldError{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) invalid(field, format string, args ...any) {
	v.fail(field, events.ReasonInvalidRequest, format, args...)
}

func (v *validator) requestID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return uuid.Must(uuid.NewV7()).String()
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e {
			v.invalid("requestId", "requestId %s contains %s; use only visible ASCII characters (no spaces)", quote(s), describe(c))
			return s
		}
	}
	if len(s) > MaxRequestID {
		v.invalid("requestId", "requestId is %d characters long; the maximum is %d", len(s), MaxRequestID)
	}
	return s
}

func (v *validator) displayName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		v.invalid("displayName", "displayName is required")
		return s
	}
	if !utf8.ValidString(s) {
		v.invalid("displayName", "displayName is not valid UTF-8 text")
		return s
	}
	if i := strings.IndexFunc(s, isControlOrBidi); i >= 0 {
		c, _ := utf8.DecodeRuneInString(s[i:])
		v.invalid("displayName", "displayName %s contains the control character %s", quote(s), describe(c))
		return s
	}
	if n := utf8.RuneCountInString(s); n > MaxDisplayName {
		v.invalid("displayName", "displayName is %d characters long; the maximum is %d", n, MaxDisplayName)
	}
	return s
}

// isControlOrBidi reports control characters and the bidirectional
// formatting controls (U+061C, U+200E/F, U+202A–E, U+2066–9), which reorder
// how a name is shown (a "right-to-left override" makes "moc.txt" read
// "txt.com") and have no place in an address-book name.
func isControlOrBidi(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// aliasChars are the characters Microsoft Entra ID allows in the part of a
// userPrincipalName before the @, besides ASCII letters and digits.
const aliasChars = "'.-_!#^~"

func (v *validator) userPrincipalName(s string, verified []string) string {
	const field = "userPrincipalName"
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		v.invalid(field, "userPrincipalName is required")
		return s
	}
	alias, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") {
		v.invalid(field, "userPrincipalName %s must have the form alias@domain with a single @", quote(s))
		return s
	}
	if msg := checkAlias(alias); msg != "" {
		v.invalid(field, "userPrincipalName %s: %s", quote(s), msg)
		return s
	}
	if msg := checkDomain(domain); msg != "" {
		v.invalid(field, "userPrincipalName %s: %s", quote(s), msg)
		return s
	}
	if len(verified) > 0 && !slices.ContainsFunc(verified, func(d string) bool {
		return strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(d), "."), domain)
	}) {
		v.fail(field, events.ReasonDomainNotVerified,
			"userPrincipalName domain %s is not one of the tenant's verified domains", quote(domain))
	}
	return s
}

// checkAlias returns what is wrong with the alias of a lower-cased
// userPrincipalName, or "".
func checkAlias(a string) string {
	if a == "" {
		return "the alias before the @ is empty"
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune(aliasChars, c)) {
			return fmt.Sprintf("the alias contains %s, which Microsoft Entra ID does not allow; "+
				"use only A-Z a-z 0-9 and ' . - _ ! # ^ ~", describe(c))
		}
	}
	if len(a) > MaxAlias {
		return fmt.Sprintf("the alias is %d characters long; the maximum is %d", len(a), MaxAlias)
	}
	if a[0] == '.' || a[len(a)-1] == '.' || strings.Contains(a, "..") {
		return "the alias must not start or end with a dot or contain two dots in a row"
	}
	return ""
}

// checkDomain returns what is wrong with a lower-cased DNS domain name, or "".
func checkDomain(d string) string {
	if d == "" {
		return "the domain after the @ is empty"
	}
	for _, c := range d {
		if c > unicode.MaxASCII {
			return "the domain must be written in ASCII; use its xn-- (punycode) form"
		}
	}
	if len(d) > MaxDomain {
		return fmt.Sprintf("the domain is %d characters long; Microsoft Entra ID allows at most %d", len(d), MaxDomain)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return fmt.Sprintf("the domain %s is not a fully qualified DNS name such as contoso.com", quote(d))
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.IndexFunc(l, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') }) >= 0 {
			return fmt.Sprintf("the domain %s is not a valid DNS name (label %s)", quote(d), quote(l))
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Sprintf("the domain %s is not a DNS name (its last label is numeric)", quote(d))
	}
	return ""
}

func (v *validator) accountType(s string) string {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "autoattendant", "aa":
		return events.AccountTypeAutoAttendant
	case "callqueue", "cq":
		return events.AccountTypeCallQueue
	case "":
		v.invalid("accountType", "accountType is required; use autoAttendant (AA) or callQueue (CQ)")
	default:
		v.invalid("accountType", "accountType %s is not supported; use autoAttendant (AA) or callQueue (CQ)", quote(s))
	}
	return s
}

func (v *validator) usageLocation(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	switch {
	case s == "":
		v.invalid("usageLocation", "usageLocation is required: the ISO 3166-1 alpha-2 code of the country "+
			"where the account is used (e.g. US); licenses cannot be assigned without it")
	case s == "UK":
		v.invalid("usageLocation", "usageLocation \"UK\" is not an ISO 3166-1 alpha-2 country code; use GB for the United Kingdom")
	case !IsCountry(s):
		v.invalid("usageLocation", "usageLocation %s is not an ISO 3166-1 alpha-2 country code (e.g. US, DE, GB)", quote(s))
	}
	return s
}

func (v *validator) phoneNumber(s, usageLocation string) string {
	const field = "phoneNumber"
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	// National numbers are read in the usage location's numbering plan; a
	// location without one (or an invalid one) leaves only E.164 input.
	region := usageLocation
	if !IsCountry(region) || !phonenumbers.GetSupportedRegions()[region] {
		region = phonenumbers.UNKNOWN_REGION
	}
	num, err := phonenumbers.Parse(s, region)
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode) && region == phonenumbers.UNKNOWN_REGION:
		v.invalid(field, "phoneNumber %s has no country code; write it in E.164 form (+<country code><number>) "+
			"or give a valid usageLocation", quote(s))
		return s
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		v.invalid(field, "phoneNumber %s does not start with a valid country code", quote(s))
		return s
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		v.invalid(field, "phoneNumber %s is too short to be a phone number", quote(s))
		return s
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		v.invalid(field, "phoneNumber %s is too long to be a phone number", quote(s))
		return s
	case err != nil:
		v.invalid(field, "phoneNumber %s is not a phone number", quote(s))
		return s
	}
	if num.GetExtension() != "" {
		v.invalid(field, "phoneNumber %s has an extension; give the number without it", quote(s))
		return s
	}
	if !phonenumbers.IsValidNumber(num) {
		cc := num.GetCountryCode()
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.TOO_SHORT:
			v.invalid(field, "phoneNumber %s is too short for country code +%d", quote(s), cc)
		case phonenumbers.TOO_LONG:
			v.invalid(field, "phoneNumber %s is too long for country code +%d", quote(s), cc)
		case phonenumbers.INVALID_COUNTRY_CODE:
			v.invalid(field, "phoneNumber %s: +%d is not a country code", quote(s), cc)
		default:
			v.invalid(field, "phoneNumber %s is not a valid number for country code +%d", quote(s), cc)
		}
		return s
	}
	return phonenumbers.Format(num, phonenumbers.E164)
}

func (v *validator) numberType(s string) string {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "callingplan":
		return events.NumberTypeCallingPlan
	case "operatorconnect":
		return events.NumberTypeOperatorConnect
	case "directrouting":
		return events.NumberTypeDirectRouting
	}
	v.invalid("numberType", "numberType %s is not supported; use callingPlan, operatorConnect or directRouting", quote(s))
	return s
}

func (v *validator) associateWith(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	g := s
	if strings.HasPrefix(g, "{") && strings.HasSuffix(g, "}") {
		g = g[1 : len(g)-1]
	}
	id, err := uuid.Parse(g)
	if len(g) != 36 || err != nil || id == uuid.Nil {
		v.invalid("associateWith", "associateWith %s is not a GUID; give the identity of the auto attendant "+
			"or call queue (Get-CsAutoAttendant, Get-CsCallQueue)", quote(s))
		return s
	}
	return id.String()
}

// callbackURL checks the callback URL. Its messages never quote the URL: it
// may carry a token in its query. An invalid URL is dropped (""), so the
// failed request's events carry no credentials and no callback is attempted.
func (v *validator) callbackURL(s string, allowedHosts []string) string {
	const field = "callbackUrl"
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > MaxCallbackURL {
		v.invalid(field, "callbackUrl is %d characters long; the maximum is %d", len(s), MaxCallbackURL)
		return ""
	}
	n := len(v.errs)
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.invalid(field, "callbackUrl is not a valid URL")
	case !strings.EqualFold(u.Scheme, "https"):
		v.invalid(field, "callbackUrl must be an absolute https:// URL")
	case u.User != nil:
		v.invalid(field, "callbackUrl must not contain a user name or password; callbacks are authenticated by their HMAC signature")
	case u.Hostname() == "":
		v.invalid(field, "callbackUrl must name a host")
	default:
		if msg := checkCallbackHost(u.Hostname(), allowedHosts); msg != "" {
			v.invalid(field, "%s", msg)
		}
	}
	if len(v.errs) > n {
		return ""
	}
	return s
}

// quote returns s quoted for a message, shortened to 64 characters.
func quote(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		return fmt.Sprintf("%q…", string(r[:limit]))
	}
	return fmt.Sprintf("%q", s)
}

// describe names a character for a message: 'é', a space, or U+0007.
func describe(c rune) string {
	switch {
	case c == ' ':
		return "a space"
	case unicode.IsPrint(c):
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("%U", c)
}

// Normalizer returns Normalize bound to opts, as the intake step takes it.
func Normalizer(opts Options) func(events.Request) (events.Request, []events.FieldError) {
	return func(r events.Request) (events.Request, []events.FieldError) { return Normalize(r, opts) }
}
