package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// listSubscribedSkus serves GET /v1.0/subscribedSkus.
func (s *Server) listSubscribedSkus(w http.ResponseWriter, r *http.Request) {
	odata.WriteJSON(w, http.StatusOK, odata.Collection[Sku]{
		Context: contextURL(r, "subscribedSkus"),
		Value:   s.dir.subscribedSkus(),
	})
}

// getSubscribedSku serves GET /v1.0/subscribedSkus/{id}.
func (s *Server) getSubscribedSku(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sku, ok := s.dir.skuByID(id)
	if !ok {
		notFound(id).write(w, r)
		return
	}
	body := map[string]any{"@odata.context": contextURL(r, "subscribedSkus/$entity")}
	b, _ := json.Marshal(sku)
	_ = json.Unmarshal(b, &body)
	odata.WriteJSON(w, http.StatusOK, body)
}

// assignLicense serves POST /v1.0/users/{id}/assignLicense: 200 with the user.
func (s *Server) assignLicense(w http.ResponseWriter, r *http.Request) {
	m, gerr := decodeObject(w, r)
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	var missing []string
	for _, p := range []string{"addLicenses", "removeLicenses"} {
		if _, ok := m[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		badRequest(fmt.Sprintf("One or more parameters of the function import 'assignLicense' are missing from the request payload. The missing parameters are: %s.", strings.Join(missing, ", "))).write(w, r)
		return
	}
	var add []AssignedLicense
	if err := json.Unmarshal(m["addLicenses"], &add); err != nil {
		invalidParameter("addLicenses").write(w, r)
		return
	}
	var remove []string
	if err := json.Unmarshal(m["removeLicenses"], &remove); err != nil {
		invalidParameter("removeLicenses").write(w, r)
		return
	}
	for _, l := range add {
		if _, err := uuid.Parse(l.SkuID); err != nil {
			invalidParameter("addLicenses").write(w, r)
			return
		}
	}
	for _, id := range remove {
		if _, err := uuid.Parse(id); err != nil {
			invalidParameter("removeLicenses").write(w, r)
			return
		}
	}
	now := s.now()
	if s.usageLocationPending(r.PathValue("id"), add, remove, now) {
		invalidUsageLocation().write(w, r)
		return
	}
	u, gerr := s.dir.assignLicense(r.PathValue("id"), now, add, remove)
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	s.writeUser(w, r, http.StatusOK, u, nil)
}

// invalidUsageLocation is Graph's answer to a license assignment for a user
// without a usage location, or (UsageLocationDelay) whose usage location
// licensing has not seen yet.
func invalidUsageLocation() *graphError {
	return badRequest("License assignment cannot be done for user with invalid usage location.")
}

func invalidParameter(name string) *graphError {
	return badRequest(fmt.Sprintf("Invalid value specified for parameter '%s'.", name))
}

// listLicenseDetails serves GET /v1.0/users/{id}/licenseDetails.
func (s *Server) listLicenseDetails(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("id")
	details, gerr := s.dir.licenseDetails(key, s.now())
	if gerr != nil {
		gerr.write(w, r)
		return
	}
	odata.WriteJSON(w, http.StatusOK, odata.Collection[licenseDetail]{
		Context: contextURL(r, "users('"+key+"')/licenseDetails"),
		Value:   details,
	})
}
