package teamssim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

func telephoneNumbers(p numberPage) []string {
	out := []string{}
	for _, n := range p.Value {
		out = append(out, n.TelephoneNumber)
	}
	return out
}

func TestListNumbersFilter(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{failingNumber, serviceNumber, userNumber, inUseNumber, directRouting, anyNumber, gbServiceNumber}},
		{"telephoneNumber eq '" + serviceNumber + "'", []string{serviceNumber}},
		{"telephoneNumber eq '" + strings.TrimPrefix(serviceNumber, "+") + "'", []string{serviceNumber}},
		{"telephoneNumber eq '+19995550100'", []string{}},
		{"assignmentStatus eq 'unassigned' and capabilities/any(c:c eq 'voiceApplicationAssignment')",
			[]string{failingNumber, serviceNumber, directRouting, anyNumber, gbServiceNumber}},
		{"capabilities/any(x:x eq 'userAssignment') and isoCountryCode eq 'US'", []string{userNumber, inUseNumber, anyNumber}},
		{"numberType eq 'DirectRouting'", []string{directRouting}},
		{"isoCountryCode eq 'GB'", []string{gbServiceNumber}},
		{"assignmentStatus eq 'userAssigned'", []string{inUseNumber}},
		{"assignmentTargetId eq '" + otherUser + "'", []string{inUseNumber}},
		{"activationState eq 'activated' and numberType eq 'callingPlan' and isoCountryCode eq 'US' and capabilities/any(c:c eq 'conferenceAssignment')",
			[]string{failingNumber, serviceNumber, anyNumber}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			target := tnm + "/numberAssignments"
			if tt.filter != "" {
				target += "?$filter=" + url.QueryEscape(tt.filter)
			}
			p := getJSON[numberPage](t, e, target)
			if diff := cmp.Diff(tt.want, telephoneNumbers(p)); diff != "" {
				t.Errorf("numbers (-want +got):\n%s", diff)
			}
			if p.NextLink != "" {
				t.Errorf("nextLink = %q on a single page", p.NextLink)
			}
		})
	}
}

func TestListNumbersBadRequest(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	tests := map[string]string{
		"filter on id":              "$filter=" + url.QueryEscape("id eq 'x'"),
		"filter on city":            "$filter=" + url.QueryEscape("city eq 'Seattle'"),
		"unknown property":          "$filter=" + url.QueryEscape("colour eq 'blue'"),
		"ne operator":               "$filter=" + url.QueryEscape("numberType ne 'callingPlan'"),
		"or":                        "$filter=" + url.QueryEscape("numberType eq 'callingPlan' or numberType eq 'directRouting'"),
		"eq on a collection":        "$filter=" + url.QueryEscape("capabilities eq 'userAssignment'"),
		"any on a scalar":           "$filter=" + url.QueryEscape("numberType/any(c:c eq 'callingPlan')"),
		"top above 1000":            "$top=1001",
		"top zero":                  "$top=0",
		"top not a number":          "$top=ten",
		"negative skip":             "$skip=-1",
		"garbage skiptoken":         "$skiptoken=%21%21",
		"select unknown property":   "$select=telephoneNumber,colour",
		"unquoted filter value":     "$filter=" + url.QueryEscape("numberType eq callingPlan"),
		"unterminated filter value": "$filter=" + url.QueryEscape("numberType eq 'callingPlan"),
	}
	for name, query := range tests {
		t.Run(name, func(t *testing.T) {
			resp, b := e.do(t, http.MethodGet, tnm+"/numberAssignments?"+query, "")
			ge := wantError(t, resp, b, http.StatusBadRequest)
			if ge.Error.Code != "BadRequest" {
				t.Errorf("code = %q, want BadRequest", ge.Error.Code)
			}
		})
	}
}

func TestListNumbersTopLimit(t *testing.T) {
	seed := teamssim.Seed{}
	for i := range 1200 {
		seed.Numbers = append(seed.Numbers, teamssim.Number{
			TelephoneNumber: fmt.Sprintf("+1206555%04d", i),
			NumberType:      teamssim.NumberTypeCallingPlan,
			Capabilities:    []string{teamssim.CapabilityUserAssignment},
		})
	}
	e := newEnv(t, seed, 0)
	tests := []struct {
		query     string
		wantLen   int
		wantNext  bool
		wantFirst string
	}{
		{"", 500, true, "+12065550000"}, // Learn: default 500
		{"?$top=1000", 1000, true, "+12065550000"},
		{"?$top=1000&$skip=1000", 200, false, "+12065551000"},
		{"?$top=10&$skip=1195", 5, false, "+12065551195"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := getJSON[numberPage](t, e, tnm+"/numberAssignments"+tt.query)
			if len(p.Value) != tt.wantLen || (p.NextLink != "") != tt.wantNext || p.Value[0].TelephoneNumber != tt.wantFirst {
				t.Errorf("got %d numbers from %s, nextLink %q; want %d from %s, nextLink %v",
					len(p.Value), p.Value[0].TelephoneNumber, p.NextLink, tt.wantLen, tt.wantFirst, tt.wantNext)
			}
		})
	}
}

func TestListNumbersPaging(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	tests := []struct {
		name      string
		query     string
		wantPages []int
	}{
		{"all numbers", "$top=2", []int{2, 2, 2, 1}},
		{"filter kept across pages", "$top=1&$filter=" + url.QueryEscape("isoCountryCode eq 'US' and capabilities/any(c:c eq 'userAssignment')"), []int{1, 1, 1}},
		{"select kept across pages", "$top=4&$select=telephoneNumber", []int{4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			filter := ""
			if f := q.Get("$filter"); f != "" {
				filter = "?$filter=" + url.QueryEscape(f)
			}
			want := telephoneNumbers(getJSON[numberPage](t, e, tnm+"/numberAssignments"+filter))

			var got []string
			var pages []int
			next := tnm + "/numberAssignments?" + tt.query
			for next != "" && len(pages) < 10 {
				p := getJSON[numberPage](t, e, next)
				pages = append(pages, len(p.Value))
				got = append(got, telephoneNumbers(p)...)
				if strings.Contains(tt.query, "$select") && len(p.Value) > 0 && p.Value[0].NumberType != "" {
					t.Errorf("page %d ignores $select", len(pages))
				}
				if p.NextLink != "" && !strings.HasPrefix(p.NextLink, e.srv.URL+tnm+"/numberAssignments?") {
					t.Fatalf("nextLink %q is not an absolute link to the collection", p.NextLink)
				}
				next = p.NextLink
			}
			if diff := cmp.Diff(tt.wantPages, pages); diff != "" {
				t.Errorf("page sizes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("numbers across pages (-want +got):\n%s", diff)
			}
		})
	}
}

// The representation carries every numberAssignment property of the v1.0
// CSDL, absent values as null.
func TestNumberRepresentation(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	p := getJSON[struct {
		Value []map[string]any `json:"value"`
	}](t, e, tnm+"/numberAssignments?$filter="+url.QueryEscape("telephoneNumber eq '"+directRouting+"'"))
	if len(p.Value) != 1 {
		t.Fatalf("got %d numbers", len(p.Value))
	}
	n := p.Value[0]
	var keys []string
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"activationState", "assignmentCategory", "assignmentStatus", "assignmentTargetId", "capabilities",
		"city", "civicAddressId", "id", "isoCountryCode", "locationId", "networkSiteId", "numberSource", "numberType",
		"operatorId", "portInStatus", "reverseNumberLookupOptions", "supportedCustomerActions", "telephoneNumber"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	for _, k := range []string{"isoCountryCode", "city", "assignmentTargetId", "assignmentCategory", "locationId"} {
		if n[k] != nil {
			t.Errorf("%s = %v, want null", k, n[k])
		}
	}
	if got, ok := n["reverseNumberLookupOptions"].([]any); !ok || len(got) != 0 {
		t.Errorf("reverseNumberLookupOptions = %v, want []", n["reverseNumberLookupOptions"])
	}
	if n["numberSource"] != "online" || n["activationState"] != "activated" || n["assignmentStatus"] != "unassigned" {
		t.Errorf("defaults not applied: %v", n)
	}
	if _, leaked := n["failWith"]; leaked {
		t.Error("failWith knob leaked into the Graph representation")
	}
}

func TestListNumbersSelect(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	p := getJSON[struct {
		Value []map[string]any `json:"value"`
	}](t, e, tnm+"/numberAssignments?$select=telephoneNumber,AssignmentStatus&$top=1")
	var keys []string
	for k := range p.Value[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"assignmentStatus", "id", "telephoneNumber"}, keys); diff != "" {
		t.Errorf("selected properties (-want +got):\n%s", diff)
	}
}

func TestGetNumberByID(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	id := e.number(t, serviceNumber).ID
	n := getJSON[numberJSON](t, e, tnm+"/numberAssignments/"+id)
	if n.TelephoneNumber != serviceNumber {
		t.Errorf("GET by id = %s, want %s", n.TelephoneNumber, serviceNumber)
	}
	resp, b := e.do(t, http.MethodGet, tnm+"/numberAssignments/bm90LWEtbnVtYmVy", "")
	wantError(t, resp, b, http.StatusNotFound)
}

var locationRE = regexp.MustCompile(`^(http://127\.0\.0\.1:\d+/v1\.0/admin/teams/telephoneNumberManagement/)operations\('([A-Za-z0-9_-]+)'\)$`)

func TestAssignProgressesOverTime(t *testing.T) {
	const step = 10 * time.Second
	e := newEnv(t, testSeed(), step)
	created := e.clock.Now()
	loc := e.start(t, "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan"))
	m := locationRE.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("Location %q does not have the form …/telephoneNumberManagement/operations('<id>')", loc)
	}
	byPath := m[1] + "operations/" + m[2]

	check := func(wantStatus, wantActivation, wantAssignment string) {
		t.Helper()
		for _, target := range []string{loc, byPath} {
			op := getJSON[operationJSON](t, e, target)
			if op.ID != m[2] || op.Status != wantStatus || len(op.Numbers) != 1 || op.Numbers[0].Status != wantStatus {
				t.Errorf("GET %s = %+v, want id %s status %s", target, op, m[2], wantStatus)
			}
			if op.CreatedDateTime != created.Format(time.RFC3339) {
				t.Errorf("createdDateTime = %q, want %q", op.CreatedDateTime, created.Format(time.RFC3339))
			}
		}
		n := e.number(t, serviceNumber)
		if n.ActivationState != wantActivation || n.AssignmentStatus != wantAssignment {
			t.Errorf("number activationState/assignmentStatus = %s/%s, want %s/%s",
				n.ActivationState, n.AssignmentStatus, wantActivation, wantAssignment)
		}
	}

	check(teamssim.OperationNotStarted, "assignmentPending", "unassigned")
	e.clock.Advance(step - time.Nanosecond)
	check(teamssim.OperationNotStarted, "assignmentPending", "unassigned")
	e.clock.Advance(time.Nanosecond)
	check(teamssim.OperationRunning, "assignmentPending", "unassigned")
	e.clock.Advance(step)
	check(teamssim.OperationSucceeded, "activated", "voiceApplicationAssigned")

	n := e.number(t, serviceNumber)
	if n.AssignmentTargetID == nil || *n.AssignmentTargetID != aaAccount || n.AssignmentCategory == nil || *n.AssignmentCategory != "primary" {
		t.Errorf("number after assignment = %+v, want target %s category primary", n, aaAccount)
	}
	op := getJSON[operationJSON](t, e, loc)
	if want := e.srv.URL + tnm + "/numberAssignments/" + n.ID; op.Numbers[0].ResourceLocation != want {
		t.Errorf("resourceLocation = %q, want %q", op.Numbers[0].ResourceLocation, want)
	}
	if op.Numbers[0].StatusDetail != nil {
		t.Errorf("statusDetail = %q on success, want null", *op.Numbers[0].StatusDetail)
	}
}

func TestAssignRules(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus string
		wantDetail []string // substrings of statusDetail
		wantNumber string   // assignmentStatus afterwards
	}{
		{"resource account gets a service number", assignBody(serviceNumber, aaAccount, "callingPlan"),
			"succeeded", nil, "voiceApplicationAssigned"},
		{"call queue account gets a number with every capability", assignBody(anyNumber, cqAccount, "callingPlan"),
			"succeeded", nil, "voiceApplicationAssigned"},
		{"user gets a user number", assignBody(userNumber, unboundUser, "callingPlan"),
			"succeeded", nil, "userAssigned"},
		{"number without a plus", assignBody(strings.TrimPrefix(serviceNumber, "+"), aaAccount, "callingPlan"),
			"succeeded", nil, "voiceApplicationAssigned"},
		{"enum case is ignored", assignBody(serviceNumber, aaAccount, "CallingPlan"),
			"succeeded", nil, "voiceApplicationAssigned"},
		{"direct routing number has no country to check", assignBody(directRouting, gbAccount, "directRouting"),
			"succeeded", nil, "voiceApplicationAssigned"},
		{"not in inventory", assignBody("+12065559999", aaAccount, "callingPlan"),
			"failed", []string{"+12065559999", "not found in the tenant's telephone number inventory"}, ""},
		{"number type mismatch", assignBody(serviceNumber, aaAccount, "operatorConnect"),
			"failed", []string{"number type callingPlan, not operatorConnect"}, "unassigned"},
		{"in use by another target", assignBody(inUseNumber, unboundUser, "callingPlan"),
			"failed", []string{"already assigned to another target"}, "userAssigned"},
		{"target unknown", assignBody(serviceNumber, "f0000000-0000-4000-8000-00000000dead", "callingPlan"),
			"failed", []string{"f0000000-0000-4000-8000-00000000dead was not found"}, "unassigned"},
		{"unlicensed target", assignBody(serviceNumber, unlicensedRA, "callingPlan"),
			"failed", []string{"no license"}, "unassigned"},
		{"unbound target needs userAssignment", assignBody(serviceNumber, unboundUser, "callingPlan"),
			"failed", []string{"lacks the userAssignment capability", "must be licensed and bound"}, "unassigned"},
		{"resource account needs voiceApplicationAssignment", assignBody(userNumber, aaAccount, "callingPlan"),
			"failed", []string{"lacks the voiceApplicationAssignment capability"}, "unassigned"},
		{"country differs from usage location", assignBody(gbServiceNumber, aaAccount, "callingPlan"),
			"failed", []string{"belongs to country GB", `usage location of ` + aaAccount + ` is "US"`}, "unassigned"},
		{"target without usage location", assignBody(serviceNumber, noLocationRA, "callingPlan"),
			"failed", []string{"belongs to country US"}, "unassigned"},
		{"failWith knob", assignBody(failingNumber, aaAccount, "callingPlan"),
			"failed", []string{failingNumberMsg}, "unassigned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testSeed(), 0)
			var req struct{ TelephoneNumber string }
			_ = json.Unmarshal([]byte(tt.body), &req)
			tel := "+" + strings.TrimPrefix(req.TelephoneNumber, "+")
			var before numberJSON
			if tt.wantNumber != "" {
				before = e.number(t, tel)
			}

			// With no step delay the first read finds the operation done.
			op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", tt.body))
			if op.Status != tt.wantStatus || op.Numbers[0].Status != tt.wantStatus {
				t.Fatalf("operation status = %s/%s, want %s", op.Status, op.Numbers[0].Status, tt.wantStatus)
			}
			detail := ""
			if op.Numbers[0].StatusDetail != nil {
				detail = *op.Numbers[0].StatusDetail
			}
			for _, want := range tt.wantDetail {
				if !strings.Contains(detail, want) {
					t.Errorf("statusDetail %q does not contain %q", detail, want)
				}
			}
			if tt.wantNumber == "" {
				return
			}
			after := e.number(t, tel)
			if after.AssignmentStatus != tt.wantNumber || after.ActivationState != "activated" {
				t.Errorf("number afterwards = %s/%s, want %s/activated", after.AssignmentStatus, after.ActivationState, tt.wantNumber)
			}
			if tt.wantStatus == "failed" {
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("failed operation changed the number (-before +after):\n%s", diff)
				}
			}
		})
	}
}

func TestAssignIsIdempotent(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	for i := range 2 {
		op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan")))
		if op.Status != "succeeded" {
			t.Fatalf("assignment %d: status %s", i+1, op.Status)
		}
	}
	// The same number for another target is now in use.
	op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody(serviceNumber, cqAccount, "callingPlan")))
	if op.Status != "failed" {
		t.Errorf("assignment to a second target: status %s, want failed", op.Status)
	}
	n := e.number(t, serviceNumber)
	if *n.AssignmentTargetID != aaAccount {
		t.Errorf("target = %s, want %s", *n.AssignmentTargetID, aaAccount)
	}
}

func TestFailedAssignmentRestoresActivationState(t *testing.T) {
	const step = time.Second
	e := newEnv(t, testSeed(), step)
	loc := e.start(t, "assignNumber", assignBody(inUseNumber, aaAccount, "callingPlan"))
	if got := e.number(t, inUseNumber).ActivationState; got != "assignmentPending" {
		t.Errorf("while pending activationState = %s, want assignmentPending", got)
	}
	e.clock.Advance(2 * step)
	if op := getJSON[operationJSON](t, e, loc); op.Status != "failed" {
		t.Fatalf("status = %s, want failed", op.Status)
	}
	n := e.number(t, inUseNumber)
	if n.ActivationState != "activated" || n.AssignmentStatus != "userAssigned" || *n.AssignmentTargetID != otherUser {
		t.Errorf("number after failure = %+v, want activated, userAssigned to %s", n, otherUser)
	}
}

// Operations on one number complete in the order they were started.
func TestOperationsCompleteInOrder(t *testing.T) {
	const step = time.Second
	e := newEnv(t, testSeed(), step)
	first := e.start(t, "assignNumber", assignBody(anyNumber, aaAccount, "callingPlan"))
	e.clock.Advance(step / 2)
	second := e.start(t, "assignNumber", assignBody(anyNumber, cqAccount, "callingPlan"))
	e.clock.Advance(2 * step)
	if op := getJSON[operationJSON](t, e, second); op.Status != "failed" {
		t.Errorf("second assignment: %s, want failed (in use)", op.Status)
	}
	if op := getJSON[operationJSON](t, e, first); op.Status != "succeeded" {
		t.Errorf("first assignment: %s, want succeeded", op.Status)
	}
	if n := e.number(t, anyNumber); n.ActivationState != "activated" || *n.AssignmentTargetID != aaAccount {
		t.Errorf("number = %+v, want activated and assigned to %s", n, aaAccount)
	}
}

func TestSetAssignmentFailure(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	e.sim.SetAssignmentFailure(strings.TrimPrefix(serviceNumber, "+"), "Emergency address validation failed.")
	op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan")))
	if op.Status != "failed" || *op.Numbers[0].StatusDetail != "Emergency address validation failed." {
		t.Fatalf("with failure set: %+v", op)
	}
	e.sim.SetAssignmentFailure(serviceNumber, "")
	op = getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan")))
	if op.Status != "succeeded" {
		t.Fatalf("after clearing the failure: %s", op.Status)
	}
}

func TestAddNumbers(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	e.sim.AddNumbers(teamssim.Number{
		TelephoneNumber: "13125550105",
		NumberType:      teamssim.NumberTypeCallingPlan,
		Capabilities:    []string{teamssim.CapabilityVoiceApplicationAssignment},
		IsoCountryCode:  "US",
	})
	op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody("+13125550105", cqAccount, "callingPlan")))
	if op.Status != "succeeded" {
		t.Fatalf("assigning an added number: %s", op.Status)
	}
	st := e.sim.State()
	if len(st.Numbers) != len(testSeed().Numbers)+1 {
		t.Errorf("state has %d numbers, want %d", len(st.Numbers), len(testSeed().Numbers)+1)
	}
	if len(st.Operations) != 1 || st.Operations[0].Status != "succeeded" || st.Operations[0].Action != "assignNumber" {
		t.Errorf("state operations = %+v", st.Operations)
	}
}

func TestUnassign(t *testing.T) {
	tests := []struct {
		name       string
		tel, typ   string
		wantStatus string
		wantDetail string
	}{
		{"assigned number", inUseNumber, "callingPlan", "succeeded", ""},
		{"unassigned number", serviceNumber, "callingPlan", "succeeded", ""},
		{"not in inventory", "+12065559999", "callingPlan", "failed", "not found in the tenant's telephone number inventory"},
		{"number type mismatch", inUseNumber, "directRouting", "failed", "number type callingPlan, not directRouting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testSeed(), 0)
			body, _ := json.Marshal(map[string]string{"telephoneNumber": tt.tel, "numberType": tt.typ})
			loc := e.start(t, "unassignNumber", string(body))
			if !locationRE.MatchString(loc) {
				t.Errorf("Location %q has the wrong form", loc)
			}
			op := getJSON[operationJSON](t, e, loc)
			detail := ""
			if op.Numbers[0].StatusDetail != nil {
				detail = *op.Numbers[0].StatusDetail
			}
			if op.Status != tt.wantStatus || !strings.Contains(detail, tt.wantDetail) {
				t.Fatalf("operation = %s %q, want %s %q", op.Status, detail, tt.wantStatus, tt.wantDetail)
			}
			if tt.wantStatus != "succeeded" {
				return
			}
			n := e.number(t, tt.tel)
			if n.AssignmentStatus != "unassigned" || n.AssignmentTargetID != nil || n.ActivationState != "activated" {
				t.Errorf("number after unassign = %+v", n)
			}
		})
	}
}

func TestActionBadRequest(t *testing.T) {
	tests := []struct {
		name, action, body string
	}{
		{"malformed JSON", "assignNumber", `{"telephoneNumber":`},
		{"not an object", "assignNumber", `["+12065550143"]`},
		{"missing telephoneNumber", "assignNumber", `{"assignmentTargetId":"` + aaAccount + `","numberType":"callingPlan"}`},
		{"missing assignmentTargetId", "assignNumber", `{"telephoneNumber":"+12065550143","numberType":"callingPlan"}`},
		{"missing numberType", "assignNumber", `{"telephoneNumber":"+12065550143","assignmentTargetId":"` + aaAccount + `"}`},
		{"invalid numberType", "assignNumber", assignBody(serviceNumber, aaAccount, "mobile")},
		{"invalid assignmentCategory", "assignNumber", `{"telephoneNumber":"+12065550143","assignmentTargetId":"` + aaAccount + `","numberType":"callingPlan","assignmentCategory":"secondary"}`},
		{"unknown parameter", "assignNumber", `{"telephoneNumber":"+12065550143","assignmentTargetId":"` + aaAccount + `","numberType":"callingPlan","colour":"blue"}`},
		{"trailing data", "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan") + `{}`},
		{"unassign missing numberType", "unassignNumber", `{"telephoneNumber":"+12065550143"}`},
		{"unassign invalid numberType", "unassignNumber", `{"telephoneNumber":"+12065550143","numberType":"landline"}`},
		{"unassign with a target", "unassignNumber", `{"telephoneNumber":"+12065550143","numberType":"callingPlan","assignmentTargetId":"` + aaAccount + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testSeed(), 0)
			resp, b := e.do(t, http.MethodPost, tnm+"/numberAssignments/"+tt.action, tt.body)
			wantError(t, resp, b, http.StatusBadRequest)
			if resp.Header.Get("Location") != "" {
				t.Error("a rejected request has a Location header")
			}
			if ops := e.sim.State().Operations; len(ops) != 0 {
				t.Errorf("a rejected request started operations: %+v", ops)
			}
		})
	}
}

func TestOperationNotFound(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	for _, path := range []string{
		tnm + "/operations/QXNzaWdubWVudHxub3BlCg",
		tnm + "/operations('QXNzaWdubWVudHxub3BlCg')",
		tnm + "/operations(QXNzaWdubWVudHxub3BlCg)",
		tnm + "/somethingElse",
	} {
		resp, b := e.do(t, http.MethodGet, path, "")
		wantError(t, resp, b, http.StatusNotFound)
	}
}

func TestConcurrentAssignments(t *testing.T) {
	seed := testSeed()
	e := newEnv(t, seed, time.Millisecond)
	done := make(chan string)
	for range 8 {
		go func() {
			resp, err := e.srv.Client().Post(e.srv.URL+tnm+"/numberAssignments/assignNumber", "application/json",
				strings.NewReader(assignBody(anyNumber, aaAccount, "callingPlan")))
			if err != nil {
				done <- ""
				return
			}
			resp.Body.Close()
			done <- resp.Header.Get("Location")
		}()
	}
	var locs []string
	for range 8 {
		locs = append(locs, <-done)
	}
	e.clock.Advance(time.Second)
	for _, loc := range locs {
		if op := getJSON[operationJSON](t, e, loc); op.Status != "succeeded" {
			t.Errorf("%s: %s, want succeeded (same target is idempotent)", loc, op.Status)
		}
	}
	if n := e.number(t, anyNumber); n.ActivationState != "activated" || n.AssignmentStatus != "voiceApplicationAssigned" {
		t.Errorf("number = %+v", n)
	}
}

// TestInstanceShowsItsNumber: an application instance's phoneNumber follows
// assignments, unassignments and inventory replacements.
func TestInstanceShowsItsNumber(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	phone := func() string {
		t.Helper()
		inst := getJSON[instanceJSON](t, e, appInstances+"/"+strings.ToUpper(aaAccount))
		if inst.PhoneNumber == nil {
			return ""
		}
		return *inst.PhoneNumber
	}
	if got := phone(); got != "" {
		t.Fatalf("before: phoneNumber %q, want none", got)
	}
	if op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan"))); op.Status != "succeeded" {
		t.Fatalf("assign: %s", op.Status)
	}
	if got := phone(); got != "tel:"+serviceNumber {
		t.Fatalf("after assign: phoneNumber %q, want tel:%s", got, serviceNumber)
	}
	body, _ := json.Marshal(map[string]string{"telephoneNumber": serviceNumber, "numberType": "callingPlan"})
	if op := getJSON[operationJSON](t, e, e.start(t, "unassignNumber", string(body))); op.Status != "succeeded" {
		t.Fatalf("unassign: %s", op.Status)
	}
	if got := phone(); got != "" {
		t.Fatalf("after unassign: phoneNumber %q, want none", got)
	}
	// Replacing a number in the inventory with an assigned copy shows it;
	// replacing it again unassigned hides it.
	n := teamssim.Number{TelephoneNumber: anyNumber, NumberType: teamssim.NumberTypeCallingPlan,
		AssignmentStatus: teamssim.StatusVoiceApplicationAssigned, AssignmentTargetID: aaAccount}
	e.sim.AddNumbers(n)
	if got := phone(); got != "tel:"+anyNumber {
		t.Fatalf("after AddNumbers: phoneNumber %q, want tel:%s", got, anyNumber)
	}
	n.AssignmentStatus, n.AssignmentTargetID = "", ""
	e.sim.AddNumbers(n)
	if got := phone(); got != "" {
		t.Fatalf("after replacing it unassigned: phoneNumber %q, want none", got)
	}
}
