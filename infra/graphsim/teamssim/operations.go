package teamssim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// Actions an operation performs.
const (
	actionAssign   = "assignNumber"
	actionUnassign = "unassignNumber"
)

// statusDetail messages of failed operations. Microsoft documents no error
// codes or messages for these operations; docs/graphsim-teams.md lists these.
const (
	detailNotInInventory   = "The telephone number %s was not found in the tenant's telephone number inventory."
	detailTypeMismatch     = "The telephone number %s is of number type %s, not %s."
	detailInUse            = "The telephone number %s is already assigned to another target."
	detailTargetNotFound   = "The assignment target %s was not found."
	detailNotLicensed      = "The assignment target %s has no license that allows a telephone number assignment."
	detailNeedsUserCap     = "The telephone number %s lacks the userAssignment capability required to assign it to %s, which is not a Teams application instance. A resource account must be licensed and bound to an application instance before it can get a number with the voiceApplicationAssignment capability."
	detailNeedsVoiceAppCap = "The telephone number %s lacks the voiceApplicationAssignment capability required to assign it to the resource account %s."
	detailCountryMismatch  = "The telephone number %s belongs to country %s, but the usage location of %s is %q."
	detailOrphaned         = "The telephone number %s is assigned to %s, which no longer exists; the assignment cannot be changed."
)

// operation is a telephone number long-running operation. Before it completes
// its status is derived from the clock; afterwards it is fixed.
type operation struct {
	id              string
	seq             int // position in Sim.opOrder
	action          string
	created         time.Time
	telephoneNumber string
	numberType      string
	targetID        string
	category        string
	locationID      string

	done   bool
	status string // set when done
	detail string
}

// startOperation records an operation and marks its number, if in the
// inventory, assignmentPending. Callers hold s.mu.
func (s *Sim) startOperationLocked(op *operation) {
	prefix := "Assignment"
	if op.action == actionUnassign {
		prefix = "Unassignment"
	}
	// Graph's operation ids are base64url("Assignment|<guid>") or
	// base64url("Unassignment|<guid>") (decoded from the Learn examples).
	op.id = base64.RawURLEncoding.EncodeToString([]byte(prefix + "|" + uuid.NewString()))
	op.created = s.now()
	op.seq = len(s.opOrder)
	s.ops[op.id] = op
	s.opOrder = append(s.opOrder, op)
	s.pending = append(s.pending, op)
	if rec, ok := s.numbers[op.telephoneNumber]; ok {
		if rec.pending == 0 {
			rec.settled = rec.ActivationState
		}
		rec.pending++
		rec.ActivationState = ActivationAssignmentPending
	}
}

// stepsAt is the number of transitions op has made by now: 0 notStarted,
// 1 running, 2 completed.
func (s *Sim) stepsAt(op *operation, now time.Time) int {
	if s.delay <= 0 {
		return 2
	}
	return int(min(max(now.Sub(op.created)/s.delay, 0), 2))
}

// statusAt is op's status at now. Callers hold s.mu and have called advance.
func (s *Sim) statusAt(op *operation, now time.Time) string {
	if op.done {
		return op.status
	}
	if s.stepsAt(op, now) == 0 {
		return OperationNotStarted
	}
	return OperationRunning
}

// advance completes every operation whose time has come, in creation order.
// Directory look-ups happen without s.mu held, so a Directory may take its own
// locks freely. Targets are looked up as Teams sees them at completion time
// (teamsUser): within the sync delay of their creation or licensing they fail
// rules 5 and 6 exactly as an unknown or unlicensed target does, since Teams
// cannot tell the two apart.
func (s *Sim) advance() {
	now := s.now()
	s.mu.Lock()
	var due []*operation
	for _, op := range s.pending {
		if s.stepsAt(op, now) >= 2 {
			due = append(due, op)
		}
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return
	}

	type lookup struct {
		user  DirUser
		found bool
	}
	users := map[string]lookup{}
	for _, op := range due {
		if op.action != actionAssign {
			continue
		}
		if _, ok := users[op.targetID]; !ok {
			// As Teams sees the directory: a target created or licensed
			// less than the sync delay ago is not found or not licensed.
			u, found := s.teamsUser(op.targetID)
			users[op.targetID] = lookup{u, found}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range due {
		if op.done {
			continue // completed by a concurrent advance
		}
		u := users[op.targetID]
		s.completeLocked(op, u.user, u.found)
	}
	kept := s.pending[:0]
	for _, op := range s.pending {
		if !op.done {
			kept = append(kept, op)
		}
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// completeLocked evaluates op's rules, applies its effect and releases the
// pending mark on its number.
func (s *Sim) completeLocked(op *operation, user DirUser, found bool) {
	rec := s.numbers[op.telephoneNumber]
	var detail string
	if op.action == actionAssign {
		detail = s.assignLocked(op, rec, user, found)
	} else {
		detail = s.unassignLocked(op, rec)
	}
	op.done = true
	op.detail = detail
	op.status = OperationSucceeded
	if detail != "" {
		op.status = OperationFailed
	}
	if rec != nil && rec.pending > 0 {
		rec.pending--
		if rec.pending == 0 {
			rec.ActivationState = rec.settled
		}
	}
}

// assignLocked applies an assignment and returns "" or the reason it failed.
func (s *Sim) assignLocked(op *operation, rec *numberRec, user DirUser, found bool) string {
	tel := op.telephoneNumber
	switch {
	case rec == nil:
		return fmt.Sprintf(detailNotInInventory, tel)
	case rec.NumberType != op.numberType:
		return fmt.Sprintf(detailTypeMismatch, tel, rec.NumberType, op.numberType)
	case rec.orphaned:
		return fmt.Sprintf(detailOrphaned, tel, rec.AssignmentTargetID)
	case rec.AssignmentStatus != StatusUnassigned && strings.EqualFold(rec.AssignmentTargetID, op.targetID):
		rec.settled = ActivationActivated
		return "" // already assigned to this target: idempotent
	case rec.AssignmentStatus != StatusUnassigned || rec.AssignmentTargetID != "":
		return fmt.Sprintf(detailInUse, tel)
	case !found:
		return fmt.Sprintf(detailTargetNotFound, op.targetID)
	case !user.Licensed:
		return fmt.Sprintf(detailNotLicensed, op.targetID)
	}
	_, bound := s.instances[strings.ToLower(op.targetID)]
	status := StatusUserAssigned
	if bound {
		status = StatusVoiceApplicationAssigned
		if !rec.HasCapability(CapabilityVoiceApplicationAssignment) {
			return fmt.Sprintf(detailNeedsVoiceAppCap, tel, op.targetID)
		}
	} else if !rec.HasCapability(CapabilityUserAssignment) {
		return fmt.Sprintf(detailNeedsUserCap, tel, op.targetID)
	}
	if rec.IsoCountryCode != "" && !strings.EqualFold(rec.IsoCountryCode, user.UsageLocation) {
		return fmt.Sprintf(detailCountryMismatch, tel, rec.IsoCountryCode, op.targetID, user.UsageLocation)
	}
	if rec.FailWith != "" {
		return rec.FailWith
	}
	s.setAssignmentLocked(rec, status, op.targetID)
	rec.AssignmentCategory = op.category
	if op.locationID != "" {
		rec.LocationID = op.locationID
	}
	rec.settled = ActivationActivated
	return ""
}

// unassignLocked applies an unassignment and returns "" or the reason it
// failed. Unassigning a number that is not assigned succeeds. A number whose
// target was deleted while it held the number is stuck: an unassignment
// started after the deletion fails (one started before completes).
func (s *Sim) unassignLocked(op *operation, rec *numberRec) string {
	switch {
	case rec == nil:
		return fmt.Sprintf(detailNotInInventory, op.telephoneNumber)
	case rec.NumberType != op.numberType:
		return fmt.Sprintf(detailTypeMismatch, op.telephoneNumber, rec.NumberType, op.numberType)
	case rec.orphaned && op.seq >= rec.orphanedSeq:
		return fmt.Sprintf(detailOrphaned, op.telephoneNumber, rec.AssignmentTargetID)
	case rec.FailWith != "":
		return rec.FailWith
	}
	s.setAssignmentLocked(rec, StatusUnassigned, "")
	rec.AssignmentCategory = ""
	rec.orphaned = false
	rec.settled = ActivationActivated
	return ""
}

// operationJSON is telephoneNumberLongRunningOperation.
type operationJSON struct {
	Context         string                `json:"@odata.context,omitempty"`
	ID              string                `json:"id"`
	CreatedDateTime string                `json:"createdDateTime"`
	Status          string                `json:"status"`
	Numbers         []operationNumberJSON `json:"numbers"`
}

// operationNumberJSON is telephoneNumberLongRunningOperationDetails.
type operationNumberJSON struct {
	ResourceLocation string  `json:"resourceLocation"`
	Status           string  `json:"status"`
	StatusDetail     *string `json:"statusDetail"`
}

func (s *Sim) getOperation(w http.ResponseWriter, r *http.Request) {
	s.writeOperation(w, r, r.PathValue("id"))
}

// getOperationByKey serves operations('<id>'), the form of the Location
// header.
func (s *Sim) getOperationByKey(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("segment")
	id, ok := strings.CutPrefix(seg, "operations('")
	if ok {
		id, ok = strings.CutSuffix(id, "')")
	}
	if !ok || id == "" {
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("Resource not found for the segment '%s'.", seg))
		return
	}
	s.writeOperation(w, r, strings.ReplaceAll(id, "''", "'"))
}

func (s *Sim) writeOperation(w http.ResponseWriter, r *http.Request, id string) {
	s.advance()
	s.mu.Lock()
	op, ok := s.ops[id]
	if !ok {
		s.mu.Unlock()
		odata.WriteError(w, r, http.StatusNotFound, "NotFound",
			fmt.Sprintf("The operation '%s' was not found.", id))
		return
	}
	status := s.statusAt(op, s.now())
	body := operationJSON{
		Context:         baseURL(r) + "/v1.0/$metadata#admin/teams/telephoneNumberManagement/operations/$entity",
		ID:              op.id,
		CreatedDateTime: op.created.UTC().Format(time.RFC3339),
		Status:          status,
		Numbers: []operationNumberJSON{{
			ResourceLocation: baseURL(r) + tnmPath + "/numberAssignments/" + numberID(op.telephoneNumber),
			Status:           status,
		}},
	}
	if op.detail != "" {
		d := op.detail
		body.Numbers[0].StatusDetail = &d
	}
	s.mu.Unlock()
	if s.currentKnobs().WrapOperations {
		// Learn's example wraps the entity in "value", without a context
		// (docs/graphsim-teams.md).
		body.Context = ""
		odata.WriteJSON(w, http.StatusOK, wrappedOperationJSON{Value: wrappedOperation{
			Type:          "#microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation",
			operationJSON: body,
		}})
		return
	}
	odata.WriteJSON(w, http.StatusOK, body)
}

// wrappedOperationJSON is an operation as Learn's example of
// GET …/operations/{id} shows it: the entity inside "value".
type wrappedOperationJSON struct {
	Value wrappedOperation `json:"value"`
}

type wrappedOperation struct {
	Type string `json:"@odata.type"`
	operationJSON
}
