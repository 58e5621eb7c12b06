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

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// Page sizes of the application-instance list (inferred: the Teams tools ask
// for 100; the maximum is a simulator choice).
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// callPriority is what Get-CsOnlineApplicationInstanceAssociation shows for an
// association created without one (inferred default).
const callPriority = 3

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

// bindAppInstance makes an existing directory user an application instance,
// as Sync-CsOnlineApplicationInstance does.
func (s *Sim) bindAppInstance(w http.ResponseWriter, r *http.Request) {
	var b AppInstance
	if err := decodeStrict(r, &b); err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	appID, ok := canonical(strings.TrimSpace(b.ApplicationID), AutoAttendantAppID, CallQueueAppID)
	if !ok {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid applicationId '%s': expected the auto attendant (%s) or call queue (%s) application id.",
				b.ApplicationID, AutoAttendantAppID, CallQueueAppID))
		return
	}
	id := strings.TrimSpace(b.ObjectID)
	if id == "" {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "Missing required property 'objectId'.")
		return
	}
	u, found := s.dir.User(id)
	if !found {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("User '%s' was not found in the directory.", id))
		return
	}

	s.advance()
	s.mu.Lock()
	status := http.StatusCreated
	a, exists := s.instances[strings.ToLower(id)]
	switch {
	case exists && a.ApplicationID != appID:
		s.mu.Unlock()
		odata.WriteError(w, r, http.StatusConflict, "Conflict",
			fmt.Sprintf("'%s' is already an application instance of application '%s'.", id, a.ApplicationID))
		return
	case exists:
		status = http.StatusOK
	default:
		a = AppInstance{
			ObjectID:          id,
			UserPrincipalName: cmp.Or(u.UserPrincipalName, b.UserPrincipalName),
			DisplayName:       cmp.Or(u.DisplayName, b.DisplayName),
			ApplicationID:     appID,
		}
		s.instances[strings.ToLower(id)] = a
	}
	body := instanceJSON(a, s.phoneNumberLocked(a.ObjectID))
	s.mu.Unlock()
	writeJSON(w, status, body)
}

type associateBody struct {
	ConfigurationID   string   `json:"configurationId"`
	ConfigurationType string   `json:"configurationType"`
	EndpointsID       []string `json:"endpointsId"`
}

type associationResult struct {
	EndpointID string `json:"endpointId"`
	Result     string `json:"result"`
}

// associate links application instances to an auto attendant or call queue,
// as New-CsOnlineApplicationInstanceAssociation does. The request either
// succeeds for every endpoint or changes nothing.
func (s *Sim) associate(w http.ResponseWriter, r *http.Request) {
	var b associateBody
	if err := decodeStrict(r, &b); err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	ctype, ok := canonical(b.ConfigurationType, ConfigurationAutoAttendant, ConfigurationCallQueue)
	switch {
	case !ok:
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid configurationType '%s': expected AutoAttendant or CallQueue.", b.ConfigurationType))
		return
	case strings.TrimSpace(b.ConfigurationID) == "":
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "Missing required property 'configurationId'.")
		return
	case len(b.EndpointsID) == 0:
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "Missing required property 'endpointsId'.")
		return
	}
	wantApp := AutoAttendantAppID
	if ctype == ConfigurationCallQueue {
		wantApp = CallQueueAppID
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
		if !ok {
			odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Endpoint '%s' is not an application instance.", id))
			return
		}
		if a.ApplicationID != wantApp {
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
		s.assocs[strings.ToLower(id)] = Association{ObjectID: a.ObjectID, ConfigurationID: cfg.ID, ConfigurationType: cfg.Type}
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
	}{a.ObjectID, a.ConfigurationID, a.ConfigurationType, callPriority})
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
