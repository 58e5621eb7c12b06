package mapping_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/mapping"
)

// serviceNowBody returns a minimal catalog request with the given catalog
// variables (JSON members, without braces).
func serviceNowBody(vars string) []byte {
	return []byte(`{"number":"RITM0000001","sys_id":"0123456789abcdef0123456789abcdef","variables":{` + vars + `}}`)
}

const snVars = `"display_name":"Main","account_upn":"ra@contoso.com","account_type":"aa","usage_location":"US"`

func mustApply(t *testing.T, m mapping.Mapping, body []byte) events.Request {
	t.Helper()
	r, err := mapping.Apply(m, body)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return r
}

func mustLoad(t *testing.T, s string) mapping.Mapping {
	t.Helper()
	m, err := mapping.LoadMapping(strings.NewReader(s))
	if err != nil {
		t.Fatalf("LoadMapping: %v", err)
	}
	return m
}

func TestBuiltinsAreValidAndIndependent(t *testing.T) {
	for _, m := range []mapping.Mapping{mapping.ServiceNow(), mapping.Workday()} {
		if err := m.Check(); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
	m := mapping.ServiceNow()
	m.Fields.AccountType.Values["aa"] = "callQueue"
	if got := mapping.ServiceNow().Fields.AccountType.Values["aa"]; got != events.AccountTypeAutoAttendant {
		t.Errorf("changing one copy changed the built-in: aa → %s", got)
	}
	if _, ok := mapping.Builtin("jira"); ok {
		t.Error("Builtin(jira) found a mapping")
	}
}

func TestValueMaps(t *testing.T) {
	sn := mapping.ServiceNow()
	for _, tc := range []struct{ in, want string }{
		{"aa", events.AccountTypeAutoAttendant},
		{"AA", events.AccountTypeAutoAttendant},
		{" cq ", events.AccountTypeCallQueue},
		{"Auto attendant", events.AccountTypeAutoAttendant},
		{"CALL QUEUE", events.AccountTypeCallQueue},
		{"call_queue", events.AccountTypeCallQueue},
		{"AutoAttendant", "AutoAttendant"}, // not in the map: on to intake, which accepts it
		{"ivr", "ivr"},                     // not in the map: on to intake, which refuses it
	} {
		body := serviceNowBody(`"display_name":"Main","account_upn":"ra@contoso.com","usage_location":"US","account_type":"` + tc.in + `"`)
		if got := mustApply(t, sn, body).AccountType; got != tc.want {
			t.Errorf("account_type %q → %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"calling_plan", events.NumberTypeCallingPlan},
		{"Operator Connect", events.NumberTypeOperatorConnect},
		{"direct_routing", events.NumberTypeDirectRouting},
		{"", ""}, // blank: not mapped; intake defaults to callingPlan
	} {
		body := serviceNowBody(snVars + `,"number_type":"` + tc.in + `"`)
		if got := mustApply(t, sn, body).NumberType; got != tc.want {
			t.Errorf("number_type %q → %q, want %q", tc.in, got, tc.want)
		}
	}

	wd := mapping.Workday()
	for _, tc := range []struct{ country, want string }{
		{`"ISO_3166-1_Alpha-3_Code":"USA"`, "US"},
		{`"ISO_3166-1_Alpha-3_Code":"deu"`, "DE"},
		{`"ISO_3166-1_Alpha-3_Code":"XKX"`, "XKX"}, // Kosovo is user-assigned: on to intake
		{`"ISO_3166-1_Alpha-2_Code":"NL"`, "NL"},   // the fallback path
		{`"ISO_3166-1_Alpha-3_Code":" ","ISO_3166-1_Alpha-2_Code":"FR"`, "FR"},
	} {
		body := []byte(`{"event":{"id":"e1"},"position":{"businessTitle":"Front desk","customObjects":{"teamsResourceAccount":` +
			`{"accountType":"Call Queue","userPrincipalName":"ra@contoso.com"}}},"location":{"country":{` + tc.country + `}}}`)
		r := mustApply(t, wd, body)
		if r.UsageLocation != tc.want {
			t.Errorf("country {%s} → %q, want %q", tc.country, r.UsageLocation, tc.want)
		}
		if r.AccountType != events.AccountTypeCallQueue || r.DisplayName != "Front desk" || r.RequestID != "workday-e1" {
			t.Errorf("country {%s}: %+v", tc.country, r)
		}
	}
}

// TestOverrideRenamesVariable: an admin whose catalog item names its
// variables differently changes the paths in a file, and keeps the rest
// of the built-in mapping (here accountType's value map).
func TestOverrideRenamesVariable(t *testing.T) {
	m := mustLoad(t, `{
		"base": "servicenow",
		"fields": {
			"userPrincipalName": {"path": "variables.u_upn"},
			"accountType": {"path": "variables.u_type", "values": {"ivr": "autoAttendant", "AA": ""}}
		}
	}`)
	if m.Name != mapping.NameServiceNow {
		t.Errorf("name %q, want the base's", m.Name)
	}
	body := serviceNowBody(`"display_name":"Main","u_upn":"ra-main@contoso.com","u_type":"Call queue","usage_location":"US"`)
	want := events.Request{
		RequestID:         "servicenow-RITM0000001",
		DisplayName:       "Main",
		UserPrincipalName: "ra-main@contoso.com",
		AccountType:       events.AccountTypeCallQueue, // the built-in's label entry
		UsageLocation:     "US",
	}
	if d := cmp.Diff(want, mustApply(t, m, body)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	// The added entry works; the removed one ("AA" folds to "aa") no
	// longer translates.
	r := mustApply(t, m, serviceNowBody(`"display_name":"M","u_upn":"a@contoso.com","u_type":"IVR","usage_location":"US"`))
	if r.AccountType != events.AccountTypeAutoAttendant {
		t.Errorf("u_type IVR → %q", r.AccountType)
	}
	r = mustApply(t, m, serviceNowBody(`"display_name":"M","u_upn":"a@contoso.com","u_type":"aa","usage_location":"US"`))
	if r.AccountType != "aa" {
		t.Errorf("u_type aa → %q, want it untranslated", r.AccountType)
	}

	// The old variable name is no longer read.
	_, err := mapping.Apply(m, serviceNowBody(snVars))
	if !errors.Is(err, mapping.ErrMissing) || !strings.Contains(err.Error(), "variables.u_upn") {
		t.Errorf("old variable name: err = %v, want variables.u_upn missing", err)
	}
}

func TestOverrideConstAndDefault(t *testing.T) {
	m := mustLoad(t, `{
		"base": "servicenow",
		"name": "servicenow-eu",
		"fields": {
			"usageLocation": {"default": "DE"},
			"numberType": {"const": "operatorConnect"},
			"callbackUrl": {"const": "https://contoso.service-now.com/api/x/result"},
			"requestId": {"prefix": "snow-eu-", "path": "sys_id", "fallback": []}
		}
	}`)
	r := mustApply(t, m, serviceNowBody(`"display_name":"Main","account_upn":"ra@contoso.com","account_type":"cq","number_type":"calling_plan"`))
	want := events.Request{
		RequestID:         "snow-eu-0123456789abcdef0123456789abcdef",
		DisplayName:       "Main",
		UserPrincipalName: "ra@contoso.com",
		AccountType:       events.AccountTypeCallQueue,
		UsageLocation:     "DE",
		NumberType:        events.NumberTypeOperatorConnect,
		CallbackURL:       "https://contoso.service-now.com/api/x/result",
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if m.Name != "servicenow-eu" {
		t.Errorf("name %q", m.Name)
	}
}

func TestMappingWithoutBase(t *testing.T) {
	m := mustLoad(t, `{
		"name": "helpdesk",
		"fields": {
			"requestId": {"path": "result.0.number", "required": true},
			"displayName": {"path": "result.0.short_description", "required": true},
			"userPrincipalName": {"path": "result.0.variables\\.upn"},
			"accountType": {"const": "callQueue"},
			"usageLocation": {"path": "result.0.country"},
			"adopt": {"path": "result.0.take_over", "values": {"Y": "true", "N": "false"}}
		}
	}`)
	body := []byte(`{"result":[{"number":"HD-7","short_description":"Queue","variables.upn":"q@contoso.com","country":"NLD","take_over":"y"}]}`)
	want := events.Request{
		RequestID:         "HD-7",
		DisplayName:       "Queue",
		UserPrincipalName: "q@contoso.com",
		AccountType:       events.AccountTypeCallQueue,
		UsageLocation:     "NLD", // no convert in this mapping
		Adopt:             true,
	}
	if d := cmp.Diff(want, mustApply(t, m, body)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestLoadMappingErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"not JSON", `{`, "mapping file"},
		{"two values", `{"base":"servicenow"} {}`, "more than one JSON value"},
		{"unknown top-level key", `{"base":"servicenow","feilds":{}}`, "unknown field"},
		{"unknown base", `{"base":"jira"}`, `unknown base "jira"`},
		{"unknown request field", `{"base":"servicenow","fields":{"displayname":{"path":"x"}}}`, `unknown field "displayname"`},
		{"unknown field attribute", `{"base":"servicenow","fields":{"displayName":{"pth":"x"}}}`, `unknown field "pth"`},
		{"bad path", `{"base":"servicenow","fields":{"displayName":{"path":"variables..name"}}}`, "empty segment"},
		{"dangling backslash", `{"base":"servicenow","fields":{"displayName":{"path":"a\\"}}}`, "backslash"},
		{"const and path", `{"base":"servicenow","fields":{"displayName":{"const":"x","path":"y"}}}`, "const and path both set"},
		{"unknown convert", `{"base":"workday","fields":{"usageLocation":{"convert":"iso3166Numeric"}}}`, `unknown convert "iso3166Numeric"`},
		{"no request id", `{"name":"x","fields":{"displayName":{"path":"a"}}}`, "requestId: must name a path"},
		{"constant request id", `{"base":"servicenow","fields":{"requestId":{"const":"same-for-all"}}}`, "requestId: must name a path"},
		{"no name", `{"fields":{"requestId":{"path":"id"}}}`, "no name"},
		{"required with nothing", `{"base":"servicenow","fields":{"phoneNumber":{"required":true,"path":""}}}`, "phoneNumber: required"},
		{"adopt not boolean", `{"base":"servicenow","fields":{"adopt":{"values":{"yes please":"maybe"}}}}`, `adopt: "maybe" is not true or false`},
		{"folded keys clash", `{"name":"x","fields":{"requestId":{"path":"id"},"accountType":{"path":"t","values":{"AA":"autoAttendant","aa ":"callQueue"}}}}`, "differ only in case"},
		{"too large", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, "larger than 1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mapping.LoadMapping(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestApplyBodyErrors(t *testing.T) {
	m := mapping.ServiceNow()
	deep := strings.Repeat(`{"a":`, mapping.MaxDepth+1) + `1` + strings.Repeat(`}`, mapping.MaxDepth+1)
	for _, tc := range []struct {
		name string
		body string
		want error
		msg  string
	}{
		{"empty", ``, mapping.ErrMalformed, "empty"},
		{"white space", " \n", mapping.ErrMalformed, "empty"},
		{"truncated", `{"number":"RITM1"`, mapping.ErrMalformed, ""},
		{"two values", string(serviceNowBody(snVars)) + `{}`, mapping.ErrMalformed, "more than one"},
		{"too deep", deep, mapping.ErrMalformed, "deeper than 32"},
		{"repeated key", `{"number":"RITM1","variables":{"account_upn":"a@contoso.com","account_upn":"b@contoso.com"}}`, mapping.ErrMalformed, `"account_upn" appears twice at variables`},
		{"too large", `{"pad":"` + strings.Repeat("x", mapping.MaxBody) + `"}`, mapping.ErrTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mapping.Apply(m, []byte(tc.body))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	// As deep as allowed still maps (the path is simply absent).
	ok := `{"number":"R1","x":` + strings.Repeat(`[`, mapping.MaxDepth-1) + strings.Repeat(`]`, mapping.MaxDepth-1) + `,"variables":{` + snVars + `}}`
	if _, err := mapping.Apply(m, []byte(ok)); err != nil {
		t.Errorf("nesting of %d: %v", mapping.MaxDepth, err)
	}
	if _, err := mapping.Apply(mapping.Mapping{Name: "broken"}, serviceNowBody(snVars)); !errors.Is(err, mapping.ErrBadMapping) {
		t.Errorf("invalid mapping: err = %v, want ErrBadMapping", err)
	}
}

func TestApplyFieldErrors(t *testing.T) {
	sn := mapping.ServiceNow()
	for _, tc := range []struct {
		name, body string
		want       error
		msg        string
	}{
		{"no variables", `{"number":"RITM1"}`, mapping.ErrMissing, "displayName: variables.display_name is missing or empty"},
		{"null", string(serviceNowBody(`"display_name":null,"account_upn":"a@contoso.com","account_type":"aa","usage_location":"US"`)), mapping.ErrMissing, "variables.display_name"},
		{"blank id", `{"number":" ","sys_id":"","variables":{` + snVars + `}}`, mapping.ErrMissing, "requestId: number or sys_id is missing or empty"},
		{"reference object", string(serviceNowBody(`"display_name":{"value":"x","display_value":"X"},"account_upn":"a@contoso.com","account_type":"aa","usage_location":"US"`)), mapping.ErrNotText, "variables.display_name is an object or array"},
		{"variables is a string", `{"number":"RITM1","variables":"display_name=x"}`, mapping.ErrMissing, "variables.display_name"},
		{"adopt", string(serviceNowBody(snVars + `,"adopt_existing":"perhaps"`)), mapping.ErrNotBoolean, `variables.adopt_existing "perhaps" is not true or false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mapping.Apply(sn, []byte(tc.body))
			var me *mapping.Error
			if !errors.As(err, &me) || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want a *mapping.Error with %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestPathsAndScalars(t *testing.T) {
	m := mustLoad(t, `{"name":"paths","fields":{
		"requestId": {"path": "ids.1", "required": true},
		"displayName": {"path": "a\\.b.c"},
		"userPrincipalName": {"path": "obj.0"},
		"accountType": {"path": "list.01", "fallback": ["list.10", "flag"]},
		"usageLocation": {"path": "n"},
		"phoneNumber": {"path": "back\\\\slash"},
		"adopt": {"path": "yes"}
	}}`)
	body := `{"ids":["x",42],"a.b":{"c":"dotted"},"obj":{"0":"zero"},"list":["l0","l1"],"flag":false,"n":1.50,"back\\slash":"bs","yes":true}`
	want := events.Request{
		RequestID:         "42",     // a number, as written
		DisplayName:       "dotted", // a key with a dot
		UserPrincipalName: "zero",   // digits are a key in an object
		AccountType:       "false",  // "01" and "10" index nothing; a boolean as written
		UsageLocation:     "1.50",
		PhoneNumber:       "bs",
		Adopt:             true,
	}
	if d := cmp.Diff(want, mustApply(t, m, []byte(body))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestErrorFieldErrors(t *testing.T) {
	_, err := mapping.Apply(mapping.Workday(), []byte(`{"event":{"id":"e1"}}`))
	var me *mapping.Error
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	var fields []string
	for _, fe := range me.FieldErrors() {
		if fe.Reason != events.ReasonInvalidRequest {
			t.Errorf("%s: reason %s", fe.Field, fe.Reason)
		}
		fields = append(fields, fe.Field)
	}
	want := []string{"displayName", "userPrincipalName", "accountType", "usageLocation"}
	if d := cmp.Diff(want, fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(err.Error(), "workday mapping: displayName: position.customObjects.teamsResourceAccount.displayName or position.businessTitle is missing") {
		t.Errorf("message: %v", err)
	}
}
