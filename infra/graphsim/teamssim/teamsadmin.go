package teamssim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// Page sizes of the application-instance list (inferred: the Teams tools ask
// for 100; the maximum is a simulator choice).
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// DefaultCallPriority is the call priority of an association created
// without one: the Teams module's own validation says "The valid values are
// 1 to 5 (default is 3)".
const DefaultCallPriority = 3

// appInstanceJSON is an application instance as the Teams admin back end
// returns it. PhoneNumber is "tel:+…" or null.
type appInstanceJSON struct {
	ObjectID          string  `json:"objectId"`
	DisplayName       string  `json:"displayName"`
	UserPrincipalName string  `json:"userPrincipalName"`
	ApplicationID     string  `json:"applicationId"`
	PhoneNumber       *string `json:"phoneNumber"`
}

type appInstancePage struct {
	ApplicationInstances []appInstanceJSON `json:"applicationInstances"`
	SkipToken            *string           `json:"skipToken"`
}

// phoneNumbersLocked maps lower-cased assignment target ids to their number.
func (s *Sim) phoneNumbersLocked() map[string]string {
	m := map[string]string{}
	for _, tel := range s.order {
		if n := s.numbers[tel]; n.AssignmentStatus != StatusUnassigned && n.AssignmentTargetID != "" {
			m[strings.ToLower(n.AssignmentTargetID)] = "tel:" + n.TelephoneNumber
		}
	}
	return m
}

// phoneNumberLocked is phoneNumbersLocked for one target, through the
// byTarget index: the single-instance reads run on every bind and lookup.
func (s *Sim) phoneNumberLocked(objectID string) map[string]string {
	tel, ok := s.byTarget[strings.ToLower(objectID)]
	if !ok {
		return nil
	}
	return map[string]string{strings.ToLower(objectID): "tel:" + tel}
}

func instanceJSON(a AppInstance, phones map[string]string) appInstanceJSON {
	j := appInstanceJSON{
		ObjectID:          a.ObjectID,
		DisplayName:       a.DisplayName,
		UserPrincipalName: a.UserPrincipalName,
		ApplicationID:     a.ApplicationID,
	}
	if p, ok := phones[strings.ToLower(a.ObjectID)]; ok {
		j.PhoneNumber = &p
	}
	return j
}

func (s *Sim) listAppInstances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := defaultPageSize
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Invalid pageSize '%s': it must be between 1 and %d.", v, maxPageSize))
			return
		}
		size = n
	}
	offset := 0
	if tok := q.Get("skipToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, convErr := strconv.Atoi(string(b))
		if err != nil || convErr != nil || n < 0 {
			odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "Invalid skipToken.")
			return
		}
		offset = n
	}

	s.advance()
	s.mu.Lock()
	all := make([]AppInstance, 0, len(s.instances))
	for _, a := range s.instances {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b AppInstance) int {
		return strings.Compare(strings.ToLower(a.ObjectID), strings.ToLower(b.ObjectID))
	})
	phones := s.phoneNumbersLocked()
	s.mu.Unlock()

	page := appInstancePage{ApplicationInstances: []appInstanceJSON{}}
	for i := offset; i < len(all) && i < offset+size; i++ {
		page.ApplicationInstances = append(page.ApplicationInstances, instanceJSON(all[i], phones))
	}
	if next := offset + size; next < len(all) {
		tok := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(next)))
		page.SkipToken = &tok
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Sim) getAppInstance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("objectId")
	s.advance()
	s.mu.Lock()
	a, ok := s.instances[strings.ToLower(id)]
	var body appInstanceJSON
	if ok {
		body = instanceJSON(a, s.phoneNumberLocked(a.ObjectID))
	}
	s.mu.Unlock()
	if !ok {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("Application instance '%s' was not found.", id))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// syncAppInstance binds an existing directory user to the auto attendant or
// call queue application, as Sync-CsOnlineApplicationInstance does:
//
//	POST /Teams.PlatformService/v2/ApplicationInstances/{objectId}/sync?applicationId=…[&acsResourceId=…]
//
// with no body, answered 200 with the JSON literal true (the MicrosoftTeams
// module 7.x treats the answer as a boolean). The object id in the path,
// applicationId and acsResourceId in the query and the absent body follow
// the module's generated code; the segment "sync", the verb and the
// statuses are inferred. applicationId 00000000-0000-0000-0000-000000000000
// removes the mapping, as Learn's second example of the cmdlet describes.
func (s *Sim) syncAppInstance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("objectId")
	if err := noBody(r); err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	q, err := queryParams(r, "applicationId", "acsResourceId")
	if err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	if !isGUID(id) {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid object id '%s': expected a GUID.", id))
		return
	}
	if acs, ok := q["acsResourceId"]; ok && !isGUID(acs) {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid acsResourceId '%s': expected a GUID.", acs))
		return
	}
	raw := strings.TrimSpace(q["applicationId"])
	appID, ok := canonical(raw, AutoAttendantAppID, CallQueueAppID, noApplicationID)
	if !ok {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid applicationId '%s': expected the auto attendant (%s) or call queue (%s) application id.",
				raw, AutoAttendantAppID, CallQueueAppID))
		return
	}
	u, found := s.teamsUser(id)
	if !found {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("User '%s' was not found.", id))
		return
	}

	s.advance()
	s.mu.Lock()
	key := strings.ToLower(id)
	a, exists := s.instances[key]
	switch {
	case appID == noApplicationID:
		delete(s.instances, key)
	case exists && a.ApplicationID != appID:
		s.mu.Unlock()
		// The message Learn documents for re-mapping; the status is inferred.
		odata.WriteError(w, r, http.StatusConflict, "Conflict", "An item with the same key has already been added.")
		return
	case !exists:
		s.instances[key] = AppInstance{
			ObjectID:          cmp.Or(u.ID, id),
			UserPrincipalName: u.UserPrincipalName,
			DisplayName:       u.DisplayName,
			ApplicationID:     appID,
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, true)
}

// noApplicationID removes an application instance's mapping.
const noApplicationID = "00000000-0000-0000-0000-000000000000"

// refuseCollectionBind answers the bind shape raprov sent before it followed
// the module's generated code: a POST of {objectId, applicationId} to the
// collection. Nothing in the module posts to the collection with an object
// id; the simulator refuses it so a regression fails loudly.
func (s *Sim) refuseCollectionBind(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodGet)
	odata.WriteError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed",
		"POST is not supported on the application instance collection: bind a user with POST "+
			appInstancesPath+"/{objectId}/"+syncSegment+"?applicationId={applicationId} and no body.")
}

// noBody rejects a request that carries a body.
func noBody(r *http.Request) error {
	n, _ := io.ReadFull(io.LimitReader(r.Body, 1), make([]byte, 1))
	if n > 0 {
		return fmt.Errorf("This request takes no body: the object id goes in the path and applicationId in the query.")
	}
	return nil
}

// queryParams returns the request's query parameters by their canonical
// names (matched case-insensitively, as ASP.NET binds them), rejecting
// unknown and repeated ones.
func queryParams(r *http.Request, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		name, ok := canonical(k, names...)
		if !ok {
			return nil, fmt.Errorf("Unknown query parameter '%s'; this request takes %s.", k, strings.Join(names, ", "))
		}
		if _, dup := out[name]; dup || len(v) != 1 {
			return nil, fmt.Errorf("Query parameter '%s' is repeated.", k)
		}
		out[name] = v[0]
	}
	return out, nil
}

func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// associateBody is the body of New-CsOnlineApplicationInstanceAssociation
// (ICreateApplicationInstanceAssociationsRequest in the module's generated
// code: ConfigurationId, ConfigurationType, EndpointsId, and from the 6.x
// modules CallPriority). The simulator requires exactly these property
// names (decodeExact): their JSON casing is inferred, and an exact match
// catches a client drifting from them.
type associateBody struct {
	ConfigurationID   string   `json:"ConfigurationId"`
	ConfigurationType string   `json:"ConfigurationType"`
	EndpointsID       []string `json:"EndpointsId"`
	CallPriority      *int     `json:"CallPriority"`
}

var associateProperties = []string{"ConfigurationId", "ConfigurationType", "EndpointsId", "CallPriority"}

type associationResult struct {
	EndpointID string `json:"endpointId"`
	Result     string `json:"result"`
}

// associate links application instances to an auto attendant or call queue,
// as New-CsOnlineApplicationInstanceAssociation does. The request either
// succeeds for every endpoint or changes nothing.
func (s *Sim) associate(w http.ResponseWriter, r *http.Request) {
	var b associateBody
	if err := decodeExact(r, &b, associateProperties...); err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	ctype, ok := canonical(b.ConfigurationType, ConfigurationAutoAttendant, ConfigurationCallQueue)
	switch {
	case !ok:
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid ConfigurationType '%s': expected AutoAttendant or CallQueue.", b.ConfigurationType))
		return
	case strings.TrimSpace(b.ConfigurationID) == "":
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "Missing required property 'ConfigurationId'.")
		return
	case len(b.EndpointsID) == 0:
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "Missing required property 'EndpointsId'.")
		return
	case b.CallPriority != nil && (*b.CallPriority < 1 || *b.CallPriority > 5):
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid CallPriority %d. The valid values are 1 to 5.", *b.CallPriority))
		return
	}
	wantApp := AutoAttendantAppID
	if ctype == ConfigurationCallQueue {
		wantApp = CallQueueAppID
	}
	priority := 0
	if b.CallPriority != nil {
		priority = *b.CallPriority
	}

	// Which endpoints Teams knows as users, looked up before taking s.mu
	// (the Directory may lock on its own).
	s.mu.Lock()
	var strangers []string
	for _, id := range b.EndpointsID {
		if _, ok := s.instances[strings.ToLower(id)]; !ok {
			strangers = append(strangers, id)
		}
	}
	s.mu.Unlock()
	known := map[string]bool{}
	for _, id := range strangers {
		_, known[strings.ToLower(id)] = s.teamsUser(id)
	}

	s.advance()
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, ok := s.configs[strings.ToLower(strings.TrimSpace(b.ConfigurationID))]
	if !ok {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("Configuration '%s' was not found.", b.ConfigurationID))
		return
	}
	if cfg.Type != ctype {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Configuration '%s' is a %s, not a %s.", cfg.ID, cfg.Type, ctype))
		return
	}
	for _, id := range b.EndpointsID {
		a, ok := s.instances[strings.ToLower(id)]
		switch {
		case !ok && !known[strings.ToLower(id)]:
			// Unknown to Teams: not in the directory, or not synced yet.
			odata.WriteError(w, r, http.StatusNotFound, "NotFound",
				fmt.Sprintf("Endpoint '%s' was not found.", id))
			return
		case !ok:
			odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Endpoint '%s' is not an application instance.", id))
			return
		case a.ApplicationID != wantApp:
			odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Endpoint '%s' is an application instance of application '%s', which cannot be associated with a %s.", id, a.ApplicationID, ctype))
			return
		}
		if old, ok := s.assocs[strings.ToLower(id)]; ok && !strings.EqualFold(old.ConfigurationID, cfg.ID) {
			odata.WriteError(w, r, http.StatusConflict, "Conflict",
				fmt.Sprintf("Endpoint '%s' is already associated with configuration '%s'.", id, old.ConfigurationID))
			return
		}
	}
	res := struct {
		Results []associationResult `json:"results"`
	}{Results: []associationResult{}}
	for _, id := range b.EndpointsID {
		a := s.instances[strings.ToLower(id)]
		s.assocs[strings.ToLower(id)] = Association{ObjectID: a.ObjectID, ConfigurationID: cfg.ID, ConfigurationType: cfg.Type, CallPriority: priority}
		res.Results = append(res.Results, associationResult{EndpointID: a.ObjectID, Result: "Success"})
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Sim) getAssociation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("objectId")
	s.mu.Lock()
	a, ok := s.assocs[strings.ToLower(id)]
	s.mu.Unlock()
	if !ok {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("No association was found for '%s'.", id))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ID                string `json:"id"`
		ConfigurationID   string `json:"configurationId"`
		ConfigurationType string `json:"configurationType"`
		CallPriority      int    `json:"callPriority"`
	}{a.ObjectID, a.ConfigurationID, a.ConfigurationType, cmp.Or(a.CallPriority, DefaultCallPriority)})
}

// decodeExact decodes a JSON object body into v after checking that every
// property name is one of names, spelled exactly (encoding/json alone would
// match names case-insensitively). Unknown properties and trailing data are
// errors.
func decodeExact(r *http.Request, v any, names ...string) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("The request body could not be read: %v", err)
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(data, &props); err != nil {
		return fmt.Errorf("The request body is not valid: %v", err)
	}
	for k := range props {
		if !slices.Contains(names, k) {
			return fmt.Errorf("The request body has an unknown property '%s'; the properties are %s.", k, strings.Join(names, ", "))
		}
	}
	return json.Unmarshal(data, v)
}

// decodeStrict decodes a JSON object body into v, rejecting unknown
// properties and trailing data.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("The request body is not valid: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("The request body has data after the JSON object.")
	}
	return nil
}

// writeJSON writes a Teams admin back end response (plain JSON, not OData).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
