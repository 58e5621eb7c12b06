package teamssim

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// UserDeleted tells the Sim that the directory deleted the user objectID.
// Its application instance and association go with it, as Teams drops a
// resource account whose user is gone. A number still assigned to it stays
// assigned to the id that no longer exists, with activationState
// updatePending, and operations started on it from now on fail: Microsoft's
// resource-account guide says to unassign the number before deleting the
// account or it gets stuck pending (shared/MICROSOFT.md). Operations already
// pending complete first; an unassignment started before the deletion
// still completes and releases the number.
func (s *Sim) UserDeleted(objectID string) {
	s.advance()
	key := strings.ToLower(objectID)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.instances, key)
	delete(s.assocs, key)
	for _, tel := range s.order {
		rec := s.numbers[tel]
		if rec.AssignmentStatus == StatusUnassigned || !strings.EqualFold(rec.AssignmentTargetID, objectID) {
			continue
		}
		rec.orphaned, rec.orphanedSeq = true, len(s.opOrder)
		rec.settled = ActivationUpdatePending
		if rec.pending == 0 {
			rec.ActivationState = ActivationUpdatePending
		}
	}
}

// removeAssociation removes the association of one application instance, as
// Remove-CsOnlineApplicationInstanceAssociation -Identities does with one
// DELETE per instance (shared/MICROSOFT.md):
//
//	DELETE /Teams.VoiceApps/applicationinstanceassociations/{objectId}
//
// answered 200 with the per-endpoint result the association request
// answers with, or 404 when the instance has no association (or is no
// instance). The path, statuses and body are inferred; the module's
// scripts show only that the call is a DELETE per instance.
func (s *Sim) removeAssociation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("objectId")
	if !isGUID(id) {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid object id '%s': expected a GUID.", id))
		return
	}
	s.mu.Lock()
	a, ok := s.assocs[strings.ToLower(id)]
	delete(s.assocs, strings.ToLower(id))
	s.mu.Unlock()
	if !ok {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("No association was found for '%s'.", id))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Results []associationResult `json:"results"`
	}{[]associationResult{{EndpointID: cmp.Or(a.ObjectID, id), Result: "Success"}}})
}
