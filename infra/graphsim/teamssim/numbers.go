package teamssim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// Page sizes of the numberAssignments list (Learn: default 500, at most 1,000).
const (
	defaultTop = 500
	maxTop     = 1000
)

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 64 << 10

// numberProp describes a numberAssignment property for $filter and $select.
type numberProp struct {
	name       string
	collection bool
	filterable bool
	get        func(Number) any // a string, or []string for collections
}

func str(s string) any {
	if s == "" {
		return nil // Graph serializes an absent value as null
	}
	return s
}

func list(v []string) any {
	if v == nil {
		return []string{}
	}
	return v
}

// numberProps are numberAssignment's properties in the v1.0 CSDL. Learn: "All
// fields from the number assignments can be filtered except id and city."
var numberProps = []numberProp{
	{name: "id", get: func(n Number) any { return n.ID }},
	{name: "telephoneNumber", filterable: true, get: func(n Number) any { return n.TelephoneNumber }},
	{name: "operatorId", filterable: true, get: func(n Number) any { return n.OperatorID }},
	{name: "numberType", filterable: true, get: func(n Number) any { return n.NumberType }},
	{name: "activationState", filterable: true, get: func(n Number) any { return n.ActivationState }},
	{name: "capabilities", collection: true, filterable: true, get: func(n Number) any { return list(n.Capabilities) }},
	{name: "locationId", filterable: true, get: func(n Number) any { return str(n.LocationID) }},
	{name: "civicAddressId", filterable: true, get: func(n Number) any { return str(n.CivicAddressID) }},
	{name: "networkSiteId", filterable: true, get: func(n Number) any { return str(n.NetworkSiteID) }},
	{name: "assignmentTargetId", filterable: true, get: func(n Number) any { return str(n.AssignmentTargetID) }},
	{name: "assignmentCategory", filterable: true, get: func(n Number) any { return str(n.AssignmentCategory) }},
	{name: "portInStatus", filterable: true, get: func(n Number) any { return str(n.PortInStatus) }},
	{name: "assignmentStatus", filterable: true, get: func(n Number) any { return str(n.AssignmentStatus) }},
	{name: "isoCountryCode", filterable: true, get: func(n Number) any { return str(n.IsoCountryCode) }},
	{name: "city", get: func(n Number) any { return str(n.City) }},
	{name: "numberSource", filterable: true, get: func(n Number) any { return str(n.NumberSource) }},
	{name: "supportedCustomerActions", collection: true, filterable: true, get: func(n Number) any { return list(n.SupportedCustomerActions) }},
	{name: "reverseNumberLookupOptions", collection: true, filterable: true, get: func(n Number) any { return list(n.ReverseNumberLookupOptions) }},
}

func lookupProp(name string) (numberProp, bool) {
	for _, p := range numberProps {
		if strings.EqualFold(p.name, name) {
			return p, true
		}
	}
	return numberProp{}, false
}

// filterClause is one validated $filter comparison.
type filterClause struct {
	prop  numberProp
	value string
}

// numberFilter is a validated $filter: every clause must hold.
type numberFilter []filterClause

func parseNumberFilter(s string) (numberFilter, error) {
	if s == "" {
		return nil, nil
	}
	clauses, err := odata.ParseFilter(s)
	if err != nil {
		return nil, err
	}
	var f numberFilter
	for _, c := range clauses {
		p, ok := lookupProp(c.Property)
		switch {
		case !ok:
			return nil, fmt.Errorf("Could not find a property named '%s' on type 'microsoft.graph.teamsAdministration.numberAssignment'.", c.Property)
		case !p.filterable:
			return nil, fmt.Errorf("Filtering on property '%s' is not supported.", p.name)
		case p.collection != c.Any:
			if p.collection {
				return nil, fmt.Errorf("Property '%s' is a collection: use %s/any(c:c eq '...').", p.name, p.name)
			}
			return nil, fmt.Errorf("Property '%s' is not a collection: use %s eq '...'.", p.name, p.name)
		}
		v := c.Value
		if p.name == "telephoneNumber" {
			v = normalizeTel(v)
		}
		f = append(f, filterClause{p, v})
	}
	return f, nil
}

// match compares case-insensitively: Learn's own example filters on
// numberType eq 'DirectRouting'.
func (f numberFilter) match(n Number) bool {
	for _, c := range f {
		switch v := c.prop.get(n).(type) {
		case string:
			if !strings.EqualFold(v, c.value) {
				return false
			}
		case []string:
			found := false
			for _, e := range v {
				found = found || strings.EqualFold(e, c.value)
			}
			if !found {
				return false
			}
		default: // null
			return false
		}
	}
	return true
}

// telephoneNumber returns the value of a telephoneNumber eq clause, if any.
func (f numberFilter) telephoneNumber() (string, bool) {
	for _, c := range f {
		if c.prop.name == "telephoneNumber" {
			return c.value, true
		}
	}
	return "", false
}

// numberSelect validates $select; nil means every property.
func numberSelect(r *http.Request) (map[string]bool, error) {
	sel := odata.Select(r)
	for p := range sel {
		if _, ok := lookupProp(p); !ok {
			return nil, fmt.Errorf("Could not find a property named '%s' on type 'microsoft.graph.teamsAdministration.numberAssignment'.", p)
		}
	}
	return sel, nil
}

// numberJSON renders n as Graph does, restricted to sel (id is always kept).
func numberJSON(n Number, sel map[string]bool) map[string]any {
	m := make(map[string]any, len(numberProps))
	for _, p := range numberProps {
		if sel == nil || sel[strings.ToLower(p.name)] || p.name == "id" {
			m[p.name] = p.get(n)
		}
	}
	return m
}

// pageOffset reads $skiptoken (written by nextLink) or $skip.
func pageOffset(q url.Values) (int, error) {
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		rest, ok := strings.CutPrefix(string(b), "offset:")
		n, convErr := strconv.Atoi(rest)
		if err != nil || !ok || convErr != nil || n < 0 {
			return 0, errors.New("Invalid $skiptoken.")
		}
		return n, nil
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("Invalid value '%s' for $skip.", v)
		}
		return n, nil
	}
	return 0, nil
}

func pageSize(q url.Values) (int, error) {
	v := q.Get("$top")
	if v == "" {
		return defaultTop, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxTop {
		return 0, fmt.Errorf("Invalid value '%s' for $top: it must be between 1 and %d.", v, maxTop)
	}
	return n, nil
}

// listQuery is a validated numberAssignments query.
type listQuery struct {
	filter      numberFilter
	sel         map[string]bool
	top, offset int
}

func parseListQuery(r *http.Request) (listQuery, error) {
	q := r.URL.Query()
	var lq listQuery
	var err error
	if lq.filter, err = parseNumberFilter(q.Get("$filter")); err != nil {
		return lq, err
	}
	if lq.sel, err = numberSelect(r); err != nil {
		return lq, err
	}
	if lq.top, err = pageSize(q); err != nil {
		return lq, err
	}
	lq.offset, err = pageOffset(q)
	return lq, err
}

func (s *Sim) listNumbers(w http.ResponseWriter, r *http.Request) {
	lq, err := parseListQuery(r)
	if err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	filter, top, offset := lq.filter, lq.top, lq.offset

	s.advance()
	s.mu.Lock()
	var matched []Number
	if tel, ok := filter.telephoneNumber(); ok {
		if rec, ok := s.numbers[tel]; ok && filter.match(rec.Number) {
			matched = append(matched, rec.Number)
		}
	} else {
		for _, tel := range s.order {
			if n := s.numbers[tel].Number; filter.match(n) {
				matched = append(matched, n)
			}
		}
	}
	page := make([]map[string]any, 0, min(top, max(len(matched)-offset, 0)))
	for i := offset; i < len(matched) && i < offset+top; i++ {
		page = append(page, numberJSON(matched[i], lq.sel))
	}
	s.mu.Unlock()

	body := odata.Collection[map[string]any]{
		Context: baseURL(r) + "/v1.0/$metadata#admin/teams/telephoneNumberManagement/numberAssignments",
		Value:   page,
	}
	if next := offset + top; next < len(matched) {
		nq := url.Values{}
		for k, v := range r.URL.Query() {
			if k != "$skip" && k != "$skiptoken" {
				nq[k] = v
			}
		}
		nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(next))))
		body.NextLink = baseURL(r) + r.URL.Path + "?" + nq.Encode()
	}
	odata.WriteJSON(w, http.StatusOK, body)
}

func (s *Sim) getNumber(w http.ResponseWriter, r *http.Request) {
	sel, err := numberSelect(r)
	if err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	id := r.PathValue("id")
	s.advance()
	s.mu.Lock()
	rec, ok := s.numbers[s.byID[id]]
	var body map[string]any
	if ok {
		body = numberJSON(rec.Number, sel)
	}
	s.mu.Unlock()
	if !ok {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("The numberAssignment '%s' was not found.", id))
		return
	}
	body["@odata.context"] = baseURL(r) + "/v1.0/$metadata#admin/teams/telephoneNumberManagement/numberAssignments/$entity"
	odata.WriteJSON(w, http.StatusOK, body)
}

// actionBody holds the parameters of assignNumber and unassignNumber.
type actionBody struct {
	TelephoneNumber    string `json:"telephoneNumber"`
	AssignmentTargetID string `json:"assignmentTargetId"`
	NumberType         string `json:"numberType"`
	AssignmentCategory string `json:"assignmentCategory"`
	LocationID         string `json:"locationId"`
}

// canonical returns the member of enum equal to v ignoring case.
func canonical(v string, enum ...string) (string, bool) {
	for _, e := range enum {
		if strings.EqualFold(v, e) {
			return e, true
		}
	}
	return "", false
}

// decodeAction parses and validates an action body. Unknown parameters,
// missing required ones and invalid enum values are errors.
func decodeAction(r *http.Request, action string) (actionBody, error) {
	var b actionBody
	if err := decodeStrict(r, &b); err != nil {
		return b, err
	}
	required := []struct{ name, value string }{
		{"telephoneNumber", b.TelephoneNumber},
		{"numberType", b.NumberType},
	}
	if action == actionAssign {
		required = append(required, struct{ name, value string }{"assignmentTargetId", b.AssignmentTargetID})
	} else if b.AssignmentTargetID != "" || b.AssignmentCategory != "" || b.LocationID != "" {
		return b, fmt.Errorf("unassignNumber takes only telephoneNumber and numberType.")
	}
	for _, p := range required {
		if strings.TrimSpace(p.value) == "" {
			return b, fmt.Errorf("Missing required parameter '%s' of %s.", p.name, action)
		}
	}
	nt, ok := canonical(b.NumberType, NumberTypeDirectRouting, NumberTypeCallingPlan, NumberTypeOperatorConnect)
	if !ok {
		return b, fmt.Errorf("The value '%s' is not valid for parameter 'numberType' (directRouting, callingPlan, operatorConnect).", b.NumberType)
	}
	b.NumberType = nt
	if action == actionAssign {
		if b.AssignmentCategory == "" {
			b.AssignmentCategory = "primary"
		}
		c, ok := canonical(b.AssignmentCategory, "primary", "private", "alternate")
		if !ok {
			return b, fmt.Errorf("The value '%s' is not valid for parameter 'assignmentCategory' (primary, private, alternate).", b.AssignmentCategory)
		}
		b.AssignmentCategory = c
	}
	b.TelephoneNumber = normalizeTel(b.TelephoneNumber)
	b.AssignmentTargetID = strings.TrimSpace(b.AssignmentTargetID)
	return b, nil
}

func (s *Sim) assignNumber(w http.ResponseWriter, r *http.Request) {
	s.startAction(w, r, actionAssign)
}

func (s *Sim) unassignNumber(w http.ResponseWriter, r *http.Request) {
	s.startAction(w, r, actionUnassign)
}

// startAction validates the body synchronously, starts an operation and
// answers 202 with its Location; the business rules run when it completes.
func (s *Sim) startAction(w http.ResponseWriter, r *http.Request, action string) {
	b, err := decodeAction(r, action)
	if err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	op := &operation{
		action:          action,
		telephoneNumber: b.TelephoneNumber,
		numberType:      b.NumberType,
		targetID:        b.AssignmentTargetID,
		category:        b.AssignmentCategory,
		locationID:      b.LocationID,
	}
	s.advance() // earlier operations on the same number complete first
	s.mu.Lock()
	s.startOperationLocked(op)
	s.mu.Unlock()
	w.Header().Set("Location", baseURL(r)+tnmPath+"/operations('"+op.id+"')")
	w.WriteHeader(http.StatusAccepted)
}
