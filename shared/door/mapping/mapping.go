package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/raprov/raprov/events"
)

// A Mapping says how one sender's JSON becomes an events.Request: where
// each request field is in the sender's body and how its values translate.
type Mapping struct {
	// Name identifies the mapping in errors and logs ("servicenow").
	Name string `json:"name"`
	// Fields has one entry per request field, named as in the request's
	// JSON. A field whose Field is zero is not mapped and stays empty.
	Fields Fields `json:"fields"`
}

// Fields holds the Field of each request field.
type Fields struct {
	RequestID         Field `json:"requestId,omitzero"`
	DisplayName       Field `json:"displayName,omitzero"`
	UserPrincipalName Field `json:"userPrincipalName,omitzero"`
	AccountType       Field `json:"accountType,omitzero"`
	UsageLocation     Field `json:"usageLocation,omitzero"`
	PhoneNumber       Field `json:"phoneNumber,omitzero"`
	NumberType        Field `json:"numberType,omitzero"`
	AssociateWith     Field `json:"associateWith,omitzero"`
	CallbackURL       Field `json:"callbackUrl,omitzero"`
	// Adopt is read as a boolean: true, false, yes, no, 1, 0 or empty
	// (false), in any case, after Values.
	Adopt Field `json:"adopt,omitzero"`
}

// Field says where one request field comes from. The value is found by
// trying Path, then each Fallback, and taking the first that is present
// and not blank; failing that, Default. Const instead gives a fixed value
// and reads nothing. The value found is trimmed, looked up in Values, else
// converted by Convert, and Prefix is put before it.
type Field struct {
	// Path is where the value is (see the package documentation).
	Path string `json:"path,omitempty"`
	// Fallback lists more paths, tried in order when Path gives nothing.
	Fallback []string `json:"fallback,omitempty"`
	// Const is a fixed value; a Field with Const has no paths.
	Const string `json:"const,omitempty"`
	// Default is the value when no path gives one. It is taken as it is
	// (no Values, no Convert, no Prefix).
	Default string `json:"default,omitempty"`
	// Values translates the sender's values (keys, matched after trimming
	// and ignoring case) into the request's (values). A value not in it
	// goes on unchanged, and intake's validation judges it.
	Values map[string]string `json:"values,omitempty"`
	// Convert names a conversion for values not in Values: "iso3166Alpha3"
	// turns an ISO 3166-1 alpha-3 country code into its alpha-2 code and
	// leaves other values unchanged.
	Convert string `json:"convert,omitempty"`
	// Prefix is put before a value read from the body, so that two senders'
	// ids cannot collide ("servicenow-" + "RITM0010023").
	Prefix string `json:"prefix,omitempty"`
	// Required makes a missing or blank value an error naming the paths
	// tried, instead of an empty field.
	Required bool `json:"required,omitempty"`
}

// Conversions for Field.Convert.
const (
	ConvertISO3166Alpha3 = "iso3166Alpha3"
)

// Errors of field values, found with errors.Is in an *Error.
var (
	// ErrMissing: a required field's paths are absent, null or blank.
	ErrMissing = errors.New("is missing or empty")
	// ErrNotText: the value at a path is an object or an array.
	ErrNotText = errors.New("is an object or array, not a string, number or boolean")
	// ErrNotBoolean: adopt's value is not a boolean.
	ErrNotBoolean = errors.New("is not true or false")
	// ErrBadMapping: the mapping itself is wrong (Check).
	ErrBadMapping = errors.New("invalid mapping")
)

// FieldError is a request field that could not be read from a body.
type FieldError struct {
	Field string // the request field, e.g. "userPrincipalName"
	// Paths are where the mapping looked, as written in it ("const" or
	// "default" when a boolean came from there).
	Paths []string
	// Value is the value found, quoted, when it is the problem (adopt);
	// "" otherwise.
	Value string
	Err   error // ErrMissing, ErrNotText or ErrNotBoolean
}

func (e FieldError) Error() string {
	return e.Field + ": " + e.detail()
}

// detail describes the problem in the sender's terms: the paths it should
// fill.
func (e FieldError) detail() string {
	paths := strings.Join(e.Paths, " or ")
	if e.Value != "" {
		return fmt.Sprintf("%s %s %v", paths, e.Value, e.Err)
	}
	return fmt.Sprintf("%s %v", paths, e.Err)
}

func (e FieldError) Unwrap() error { return e.Err }

// Error is a body that could not be mapped: every field that failed, in
// request field order.
type Error struct {
	Mapping string
	Fields  []FieldError
}

func (e *Error) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return e.Mapping + " mapping: " + strings.Join(msgs, "; ")
}

// Unwrap lets errors.Is and errors.As see each FieldError.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}

// FieldErrors returns the errors as intake reports invalid fields (reason
// invalid_request), with messages that name the sender's paths, for a 400
// answer to the sender.
func (e *Error) FieldErrors() []events.FieldError {
	out := make([]events.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = events.FieldError{
			Field:   f.Field,
			Reason:  events.ReasonInvalidRequest,
			Message: fmt.Sprintf("%s (%s mapping, for %s)", f.detail(), e.Mapping, f.Field),
		}
	}
	return out
}

// namedField is a request field's JSON name and its Field in a Mapping.
type namedField struct {
	name  string
	field *Field
}

// named returns the fields of fs by their JSON names, in request order.
func (fs *Fields) named() []namedField {
	return []namedField{
		{"requestId", &fs.RequestID},
		{"displayName", &fs.DisplayName},
		{"userPrincipalName", &fs.UserPrincipalName},
		{"accountType", &fs.AccountType},
		{"usageLocation", &fs.UsageLocation},
		{"phoneNumber", &fs.PhoneNumber},
		{"numberType", &fs.NumberType},
		{"associateWith", &fs.AssociateWith},
		{"callbackUrl", &fs.CallbackURL},
		{"adopt", &fs.Adopt},
	}
}

// Check reports what is wrong with m, wrapping ErrBadMapping: an empty
// name; a field with both Const and paths, with a path that does not parse,
// with an unknown Convert or an empty Values key; a required field that
// names no path, constant or default; and a requestId that is not read
// from the body (without the sender's own id a resend would become a
// second request).
func (m Mapping) Check() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if strings.TrimSpace(m.Name) == "" {
		bad("the mapping has no name")
	}
	for _, nf := range m.Fields.named() {
		f := nf.field
		for _, p := range f.paths() {
			if _, err := parsePath(p); err != nil {
				bad("%s: %v", nf.name, err)
			}
		}
		if f.Const != "" && len(f.paths()) > 0 {
			bad("%s: const and path both set; a constant reads nothing", nf.name)
		}
		if nf.name == "adopt" && (f.Prefix != "" || f.Convert != "") {
			bad("adopt: a boolean takes no prefix or convert")
		}
		if f.Path == "" && len(f.Fallback) > 0 {
			bad("%s: fallback without path", nf.name)
		}
		if f.Required && f.Path == "" && f.Const == "" && f.Default == "" {
			bad("%s: required, but no path, const or default", nf.name)
		}
		switch f.Convert {
		case "", ConvertISO3166Alpha3:
		default:
			bad("%s: unknown convert %s (known: %s)", nf.name, strconv.Quote(f.Convert), ConvertISO3166Alpha3)
		}
		for k := range f.Values {
			if strings.TrimSpace(k) == "" {
				bad("%s: values has an empty key", nf.name)
			}
		}
		if folded := foldKeys(f.Values); len(folded) != len(f.Values) {
			bad("%s: values has keys that differ only in case or spaces", nf.name)
		}
	}
	a := &m.Fields.Adopt
	for _, v := range append([]string{a.Const, a.Default}, slices.Collect(maps.Values(a.Values))...) {
		if _, err := parseBool(v); err != nil {
			bad("adopt: %s is not true or false", strconv.Quote(v))
		}
	}
	if m.Fields.RequestID.Path == "" {
		bad("requestId: must name a path to the sender's own id (ticket number, event id), so that a resend is the same request")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w %s: %w", ErrBadMapping, strconv.Quote(m.Name), err)
	}
	return nil
}

// paths returns Path and Fallback, the paths a Field reads.
func (f *Field) paths() []string {
	if f.Path == "" {
		return nil
	}
	return append([]string{f.Path}, f.Fallback...)
}

// foldKeys returns vs with its keys trimmed and lower-cased.
func foldKeys(vs map[string]string) map[string]string {
	if vs == nil {
		return nil
	}
	out := make(map[string]string, len(vs))
	for k, v := range vs {
		out[fold(k)] = v
	}
	return out
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Apply maps body, a sender's JSON, to a request. Fields are taken as the
// mapping says and otherwise left as found: validation and normalisation
// are intake's (events/validate), so Apply needs no phone number library.
// Keys the mapping does not name are ignored.
//
// Errors: ErrTooLarge and ErrMalformed for the body as a whole;
// ErrBadMapping when m fails Check; otherwise an *Error listing every
// field that failed (ErrMissing, ErrNotText, ErrNotBoolean), naming the
// paths it tried.
func Apply(m Mapping, body []byte) (events.Request, error) {
	if err := m.Check(); err != nil {
		return events.Request{}, err
	}
	doc, err := decode(body)
	if err != nil {
		return events.Request{}, fmt.Errorf("%s mapping: %w", m.Name, err)
	}
	var r events.Request
	out := map[string]*string{
		"requestId":         &r.RequestID,
		"displayName":       &r.DisplayName,
		"userPrincipalName": &r.UserPrincipalName,
		"accountType":       &r.AccountType,
		"usageLocation":     &r.UsageLocation,
		"phoneNumber":       &r.PhoneNumber,
		"numberType":        &r.NumberType,
		"associateWith":     &r.AssociateWith,
		"callbackUrl":       &r.CallbackURL,
	}
	var fail []FieldError
	for _, nf := range m.Fields.named() {
		v, from, ferr := nf.field.value(doc)
		if ferr == nil && nf.name == "adopt" {
			if r.Adopt, ferr = parseBool(v); ferr != nil {
				ferr.Paths = []string{from}
			}
		}
		if ferr != nil {
			ferr.Field = nf.name
			fail = append(fail, *ferr)
			continue
		}
		if p, ok := out[nf.name]; ok {
			*p = v
		}
	}
	if len(fail) > 0 {
		return events.Request{}, &Error{Mapping: m.Name, Fields: fail}
	}
	return r, nil
}

// value returns the field's value in doc and where it came from: a path,
// "const" or "default". The paths have been checked.
func (f *Field) value(doc any) (string, string, *FieldError) {
	if f.Const != "" {
		return f.Const, "const", nil
	}
	paths := f.paths()
	for _, p := range paths {
		pp, _ := parsePath(p)
		v, ok := pp.lookup(doc)
		if !ok {
			continue
		}
		s, isText := text(v)
		if !isText {
			return "", p, &FieldError{Paths: []string{p}, Err: ErrNotText}
		}
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		return f.Prefix + f.translate(s), p, nil
	}
	if f.Default != "" || !f.Required {
		return f.Default, "default", nil
	}
	return "", "", &FieldError{Paths: paths, Err: ErrMissing}
}

// translate applies Values, else Convert, to a value found in the body.
func (f *Field) translate(s string) string {
	for k, v := range f.Values {
		if fold(k) == fold(s) {
			return v
		}
	}
	if f.Convert == ConvertISO3166Alpha3 {
		if a2, ok := alpha3To2(s); ok {
			return a2
		}
	}
	return s
}

// text returns a JSON scalar as text: strings as they are, numbers as
// written, booleans as true or false.
func text(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

// parseBool reads adopt's value.
func parseBool(s string) (bool, *FieldError) {
	switch fold(s) {
	case "", "false", "no", "0":
		return false, nil
	case "true", "yes", "1":
		return true, nil
	}
	return false, &FieldError{Value: strconv.Quote(s), Err: ErrNotBoolean}
}
