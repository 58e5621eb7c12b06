package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// defaultUserProperties are the properties Graph returns for a user when the
// request has no $select (user resource: "returned by default").
var defaultUserProperties = []string{
	"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
}

// userPropertyNames maps every v1.0 user property's lower-case name to its
// Graph spelling; $select accepts exactly these. Properties the simulator
// does not model read as null (or [] for collections).
var userPropertyNames = map[string]string{}

// userCollections are the collection-valued user properties.
var userCollections = map[string]bool{}

// writableUserProperties are the properties POST and PATCH /users accept;
// those not modelled are stored as sent and read back.
var writableUserProperties = map[string]bool{}

// readOnlyUserProperties are rejected in POST and PATCH bodies.
var readOnlyUserProperties = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`aboutMe accountEnabled ageGroup assignedLicenses assignedPlans birthday
		businessPhones city companyName consentProvidedForMinor country createdDateTime creationType
		deletedDateTime department displayName employeeHireDate employeeId employeeLeaveDateTime
		employeeOrgData employeeType externalUserState externalUserStateChangeDateTime faxNumber givenName
		hireDate id identities imAddresses interests isResourceAccount jobTitle lastPasswordChangeDateTime
		legalAgeGroupClassification licenseAssignmentStates mail mailNickname mobilePhone mySite
		officeLocation onPremisesDistinguishedName onPremisesDomainName onPremisesExtensionAttributes
		onPremisesImmutableId onPremisesLastSyncDateTime onPremisesProvisioningErrors
		onPremisesSamAccountName onPremisesSecurityIdentifier onPremisesSyncEnabled
		onPremisesUserPrincipalName otherMails passwordPolicies passwordProfile pastProjects postalCode
		preferredDataLocation preferredLanguage preferredName provisionedPlans proxyAddresses
		responsibilities schools securityIdentifier showInAddressList signInSessionsValidFromDateTime
		skills state streetAddress surname usageLocation userPrincipalName userType`) {
		userPropertyNames[strings.ToLower(p)] = p
	}
	for _, p := range strings.Fields(`assignedLicenses assignedPlans businessPhones identities imAddresses
		interests licenseAssignmentStates onPremisesProvisioningErrors otherMails pastProjects
		provisionedPlans proxyAddresses responsibilities schools skills`) {
		userCollections[p] = true
	}
	for _, p := range strings.Fields(`accountEnabled ageGroup businessPhones city companyName
		consentProvidedForMinor country department displayName employeeHireDate employeeId employeeType
		faxNumber givenName jobTitle mail mailNickname mobilePhone officeLocation onPremisesExtensionAttributes
		onPremisesImmutableId otherMails passwordPolicies passwordProfile postalCode preferredLanguage showInAddressList state
		streetAddress surname usageLocation userPrincipalName userType`) {
		writableUserProperties[p] = true
	}
	for _, p := range strings.Fields(`id createdDateTime assignedLicenses assignedPlans
		licenseAssignmentStates provisionedPlans proxyAddresses deletedDateTime`) {
		readOnlyUserProperties[p] = true
	}
}

// userJSON renders u in Graph's shape: the default properties, or those of
// sel ($select, lower-case names) when not nil.
func userJSON(u User, sel map[string]bool) map[string]any {
	all := map[string]any{
		"id":                u.ID,
		"userPrincipalName": u.UserPrincipalName,
		"displayName":       u.DisplayName,
		"mailNickname":      u.MailNickname,
		"accountEnabled":    u.AccountEnabled,
		"usageLocation":     nullIfEmpty(u.UsageLocation),
		"department":        nullIfEmpty(u.Department),
		"assignedLicenses":  u.AssignedLicenses,
		"createdDateTime":   u.CreatedDateTime.UTC().Format(time.RFC3339),
		"userType":          "Member",
		"passwordProfile":   nil, // never returned
	}
	states := make([]map[string]any, 0, len(u.AssignedLicenses))
	for _, l := range u.AssignedLicenses {
		states = append(states, map[string]any{
			"skuId": l.SkuID, "disabledPlans": l.DisabledPlans, "assignedByGroup": nil,
			"state": "Active", "error": "None", "lastUpdatedDateTime": u.CreatedDateTime.UTC().Format(time.RFC3339),
		})
	}
	all["licenseAssignmentStates"] = states
	for k, v := range u.Other {
		all[k] = v
	}
	value := func(name string) any {
		if v, ok := all[name]; ok {
			return v
		}
		if userCollections[name] {
			return []any{}
		}
		return nil
	}
	out := map[string]any{}
	if sel == nil {
		for _, p := range defaultUserProperties {
			out[p] = value(p)
		}
		return out
	}
	for p := range sel {
		name := userPropertyNames[p]
		out[name] = value(name)
	}
	return out
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// selectUser parses $select for users; an unknown property is a 400.
func selectUser(r *http.Request) (map[string]bool, *graphError) {
	sel := odata.Select(r)
	for p := range sel {
		if _, ok := userPropertyNames[p]; !ok {
			return nil, &graphError{
				status:  http.StatusBadRequest,
				code:    "BadRequest",
				message: fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", p),
			}
		}
	}
	return sel, nil
}

// contextURL is an @odata.context value on the request's own host.
func contextURL(r *http.Request, fragment string) string {
	return baseURL(r) + "/v1.0/$metadata#" + fragment
}

func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

func selectSuffix(r *http.Request) string {
	if v := r.URL.Query().Get("$select"); v != "" {
		return "(" + v + ")"
	}
	return ""
}

func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, status int, u User, sel map[string]bool) {
	body := userJSON(u, sel)
	body["@odata.context"] = contextURL(r, "users"+selectSuffix(r)+"/$entity")
	odata.WriteJSON(w, status, body)
}

// decodeObject reads a JSON object body into its members.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *graphError) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, &graphError{
			status:  http.StatusBadRequest,
			code:    "BadRequest",
			message: "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
		}
	}
	return m, nil
}

// userInput is a decoded POST or PATCH /users body.
type userInput struct {
	present  map[string]bool
	enabled  bool
	strings  map[string]string // string-valued modelled properties; "" for null
	password *string           // passwordProfile.password, never stored
	other    map[string]any
}

var modelledStringProperties = []string{"displayName", "mailNickname", "userPrincipalName", "usageLocation", "department"}

// readUserInput decodes a user body (POST or PATCH) and parses it.
func readUserInput(w http.ResponseWriter, r *http.Request) (userInput, *graphError) {
	m, gerr := decodeObject(w, r)
	if gerr != nil {
		return userInput{}, gerr
	}
	return parseUserInput(m)
}

func parseUserInput(m map[string]json.RawMessage) (userInput, *graphError) {
	in := userInput{present: map[string]bool{}, strings: map[string]string{}, other: map[string]any{}}
	for k, raw := range m {
		if strings.HasPrefix(k, "@") || strings.Contains(k, "@odata.") {
			continue // annotations such as "@odata.type"
		}
		name := userPropertyNames[strings.ToLower(k)]
		if readOnlyUserProperties[name] {
			return in, badRequest(fmt.Sprintf("Property '%s' is read-only and cannot be set.", k))
		}
		if !writableUserProperties[name] {
			return in, badRequest(fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", k))
		}
		in.present[name] = true
		switch {
		case name == "accountEnabled":
			if err := json.Unmarshal(raw, &in.enabled); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				return in, invalidValue(name)
			}
		case name == "passwordProfile":
			var p struct {
				Password *string `json:"password"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return in, invalidValue(name)
			}
			if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				delete(in.present, name)
				continue
			}
			in.password = p.Password
		case slices.Contains(modelledStringProperties, name):
			var v *string
			if err := json.Unmarshal(raw, &v); err != nil {
				return in, invalidValue(name)
			}
			if v != nil {
				in.strings[name] = *v
			} else {
				in.strings[name] = ""
			}
		default:
			var v any
			var gerr *graphError
			if err := json.Unmarshal(raw, &v); err != nil {
				return in, invalidValue(name)
			}
			if name == "onPremisesExtensionAttributes" {
				if _, gerr = extensionAttributes(v, nil); gerr != nil {
					return in, gerr
				}
			}
			in.other[name] = v
		}
	}
	return in, nil
}

// aliasChars are the characters Microsoft Entra allows in the alias part of
// a userPrincipalName.
var aliasChars = regexp.MustCompile(`^[A-Za-z0-9'.\-_!#^~]+$`)

// validUPN checks alias@domain: allowed alias characters, at most 64 of
// them, no leading, trailing or doubled period.
func validUPN(upn string) (alias, domain string, ok bool) {
	alias, domain, found := strings.Cut(upn, "@")
	if !found || alias == "" || domain == "" || strings.Contains(domain, "@") || len(alias) > 64 || len(upn) > 113 {
		return "", "", false
	}
	if !aliasChars.MatchString(alias) || strings.HasPrefix(alias, ".") || strings.HasSuffix(alias, ".") || strings.Contains(alias, "..") {
		return "", "", false
	}
	return alias, domain, true
}

// validMailNickname: 1–64 ASCII characters, none of @ ( ) \ [ ] " ; : < > , or space.
func validMailNickname(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || r <= ' ' || strings.ContainsRune(`@()\[]";:<>,`, r) {
			return false
		}
	}
	return true
}

// validUsageLocation: an ISO 3166-1 alpha-2 code.
func validUsageLocation(s string) bool {
	if len(s) != 2 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

// complexPassword applies Microsoft Entra's password policy: 8 to 256
// characters, at least three of lower case, upper case, digits and symbols.
func complexPassword(p string) bool {
	n := len([]rune(p))
	if n < 8 || n > 256 {
		return false
	}
	var lower, upper, digit, symbol int
	for _, r := range p {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			symbol = 1
		}
	}
	return lower+upper+digit+symbol >= 3
}

func required(name string) *graphError {
	return badRequest(fmt.Sprintf("Property %s value is required but is empty or missing.", name))
}

// checkCommon validates the modelled properties present in in.
func (s *Server) checkCommon(in userInput) *graphError {
	value := func(name string) (string, bool) { return in.strings[name], in.present[name] }
	if v, ok := value("displayName"); ok && (strings.TrimSpace(v) == "" || len([]rune(v)) > 256) {
		return invalidValue("displayName")
	}
	if v, ok := value("mailNickname"); ok && !validMailNickname(v) {
		return invalidValue("mailNickname")
	}
	if v, ok := value("userPrincipalName"); ok {
		_, domain, valid := validUPN(v)
		if !valid {
			msg := "Property userPrincipalName is invalid."
			return badRequest(msg, odata.Detail{Code: "InvalidValue", Target: "userPrincipalName", Message: msg})
		}
		if !s.dir.verified(domain) {
			msg := "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."
			return badRequest(msg, odata.Detail{Code: "InvalidValue", Target: "userPrincipalName", Message: msg})
		}
	}
	if v, ok := value("usageLocation"); ok && v != "" && !validUsageLocation(v) {
		return invalidValue("usageLocation")
	}
	if in.password != nil && !complexPassword(*in.password) {
		return badRequest("The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	return nil
}

// createUser serves POST /v1.0/users.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	in, gerr := readUserInput(w, r)
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	for _, name := range []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"} {
		if !in.present[name] || (in.strings[name] == "" && slices.Contains(modelledStringProperties, name)) {
			required(name).write(w, r)
			return
		}
	}
	if in.password == nil || *in.password == "" {
		badRequest("A password must be specified to create a new user.").write(w, r)
		return
	}
	if gerr := s.checkCommon(in); gerr != nil {
		gerr.write(w, r)
		return
	}
	u := &User{
		ID:                uuid.NewString(),
		UserPrincipalName: in.strings["userPrincipalName"],
		DisplayName:       in.strings["displayName"],
		MailNickname:      in.strings["mailNickname"],
		AccountEnabled:    in.enabled,
		UsageLocation:     strings.ToUpper(in.strings["usageLocation"]),
		Department:        in.strings["department"],
		AssignedLicenses:  []AssignedLicense{},
		CreatedDateTime:   s.now().UTC(),
	}
	if len(in.other) > 0 {
		u.Other = in.other
		if v, ok := in.other["onPremisesExtensionAttributes"]; ok {
			u.Other["onPremisesExtensionAttributes"], _ = extensionAttributes(v, nil) // checked by parseUserInput
		}
	}
	if gerr := s.dir.create(u); gerr != nil {
		gerr.write(w, r)
		return
	}
	w.Header().Set("Location", userURL(r, u.ID))
	s.writeUser(w, r, http.StatusCreated, u.clone(), nil)
}

// getUser serves GET /v1.0/users/{id | userPrincipalName}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	sel, gerr := selectUser(r)
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	u, gerr := s.dir.get(r.PathValue("id"), s.now())
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	s.writeUser(w, r, http.StatusOK, u, sel)
}

// filterableUserProperties are the string properties $filter supports with eq.
var filterableUserProperties = map[string]func(*User) string{
	"userprincipalname": func(u *User) string { return u.UserPrincipalName },
	"id":                func(u *User) string { return u.ID },
	"mailnickname":      func(u *User) string { return u.MailNickname },
	"displayname":       func(u *User) string { return u.DisplayName },
	"department":        func(u *User) string { return u.Department },
	"usagelocation":     func(u *User) string { return u.UsageLocation },
}

// listUsers serves GET /v1.0/users with $filter, $select, $top and paging.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel, gerr := selectUser(r)
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	match := func(*User) bool { return true }
	var pinned *odata.Clause // an id or userPrincipalName equality: looked up, not scanned for
	if f := q.Get("$filter"); f != "" {
		clauses, err := odata.ParseFilter(f)
		if err != nil {
			(&graphError{status: http.StatusBadRequest, code: "BadRequest", message: err.Error()}).write(w, r)
			return
		}
		var getters []func(*User) string
		for i, c := range clauses {
			get, ok := filterableUserProperties[strings.ToLower(c.Property)]
			if !ok || c.Any {
				(&graphError{
					status:  http.StatusBadRequest,
					code:    "Request_UnsupportedQuery",
					message: fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", c.Property),
				}).write(w, r)
				return
			}
			getters = append(getters, get)
			if p := strings.ToLower(c.Property); pinned == nil && (p == "id" || p == "userprincipalname") {
				pinned = &clauses[i]
			}
		}
		match = func(u *User) bool {
			for i, c := range clauses {
				if !strings.EqualFold(getters[i](u), c.Value) {
					return false
				}
			}
			return true
		}
	}
	top := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			(&graphError{status: http.StatusBadRequest, code: "Request_UnsupportedQuery", message: "Invalid page size specified: '" + v + "'. Must be between 1 and 999 inclusive."}).write(w, r)
			return
		}
		top = n
	}
	skip := 0
	if v := q.Get("$skiptoken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 {
			(&graphError{status: http.StatusBadRequest, code: "Directory_ExpiredPageToken", message: "The specified page token value has expired and can no longer be included in your request."}).write(w, r)
			return
		}
		skip = n
	}
	var users []User
	if pinned != nil {
		users = s.dir.listPinned(s.now(), strings.EqualFold(pinned.Property, "id"), pinned.Value, match)
	} else {
		users = s.dir.list(s.now(), match)
	}
	page := odata.Collection[map[string]any]{
		Context: contextURL(r, "users"+selectSuffix(r)),
		Value:   []map[string]any{},
	}
	for i := skip; i < len(users) && i < skip+top; i++ {
		page.Value = append(page.Value, userJSON(users[i], sel))
	}
	if skip+top < len(users) {
		next := *r.URL
		nq := next.Query()
		nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(skip+top))))
		next.RawQuery = nq.Encode()
		page.NextLink = baseURL(r) + next.Path + "?" + next.RawQuery
	}
	odata.WriteJSON(w, http.StatusOK, page)
}

// updateUser serves PATCH /v1.0/users/{id | userPrincipalName}: 204 on success.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	in, gerr := readUserInput(w, r)
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	for _, name := range []string{"displayName", "mailNickname", "userPrincipalName"} {
		if in.present[name] && in.strings[name] == "" {
			invalidValue(name).write(w, r)
			return
		}
	}
	if in.present["passwordProfile"] && (in.password == nil || *in.password == "") {
		badRequest("A password must be specified to create a new user.").write(w, r)
		return
	}
	if gerr := s.checkCommon(in); gerr != nil {
		gerr.write(w, r)
		return
	}
	_, gerr = s.dir.update(r.PathValue("id"), s.now(), func(u *User) *graphError {
		for name, v := range in.strings {
			switch name {
			case "displayName":
				u.DisplayName = v
			case "mailNickname":
				u.MailNickname = v
			case "userPrincipalName":
				u.UserPrincipalName = v
			case "usageLocation":
				if v == "" && len(u.AssignedLicenses) > 0 {
					return badRequest("License assignment cannot be done for user with invalid usage location.")
				}
				u.UsageLocation = strings.ToUpper(v)
			case "department":
				u.Department = v
			}
		}
		if in.present["accountEnabled"] {
			u.AccountEnabled = in.enabled
		}
		for k, v := range in.other {
			if u.Other == nil {
				u.Other = map[string]any{}
			}
			if k == "onPremisesExtensionAttributes" {
				v, _ = extensionAttributes(v, u.Other[k]) // checked by parseUserInput
			}
			u.Other[k] = v
		}
		return nil
	})
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteUser serves DELETE /v1.0/users/{id | userPrincipalName}: 204; the
// user's licenses are freed (consumedUnits goes down) and its Teams
// application instance and association go with it. A number still assigned
// to it stays assigned and gets stuck (teamssim.Sim.UserDeleted). Deleted
// users are not kept for restoring (Graph keeps them 30 days in
// directory/deletedItems; not modelled). An unknown or already deleted user
// is 404 Request_ResourceNotFound.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, gerr := s.dir.remove(r.PathValue("id"), s.now())
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	s.teams.UserDeleted(id)
	w.WriteHeader(http.StatusNoContent)
}

// userURL is the canonical URL of a user, for messages and Location headers.
func userURL(r *http.Request, id string) string {
	return baseURL(r) + "/v1.0/users/" + url.PathEscape(id)
}

// extensionAttributes checks an onPremisesExtensionAttributes value: an
// object of extensionAttribute1–15, each a string of at most 1,024 characters
// or null (onPremisesExtensionAttributes resource type). It returns all
// fifteen, as Graph reads them back: those not in v keep their value in old
// (a PATCH changes only the attributes it names), the others are null. Every
// simulated user is cloud-only, so all may set them.
func extensionAttributes(v any, old any) (map[string]any, *graphError) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalidValue("onPremisesExtensionAttributes")
	}
	prev, _ := old.(map[string]any)
	out := make(map[string]any, 15)
	for i := 1; i <= 15; i++ {
		k := fmt.Sprintf("extensionAttribute%d", i)
		out[k] = prev[k]
	}
	for k, val := range m {
		if _, known := out[k]; !known {
			return nil, badRequest(fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", k))
		}
		switch val := val.(type) {
		case nil:
		case string:
			if len([]rune(val)) > 1024 {
				return nil, badRequest(fmt.Sprintf("Invalid value specified for property '%s' of resource 'User'.", k))
			}
		default:
			return nil, invalidValue(k)
		}
		out[k] = val
	}
	return out, nil
}
