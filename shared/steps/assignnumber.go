package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// Number capability and assignment status values (Graph teamsAdministration).
const (
	CapabilityVoiceApplication   = "voiceApplicationAssignment"
	StatusUnassigned             = "unassigned"
	StatusVoiceApplicationAssign = "voiceApplicationAssigned"
)

// AssignNumber gives the account its phone number. Without a requested
// number it passes straight on. Otherwise it checks the tenant inventory
// again (check-license checked it before anything was created, but the number
// may have been taken since): the number exists, is free or already ours, can
// be assigned to voice applications, has the requested type and the
// account's country. An adopted account that holds another number is never
// given a second one. Then it starts the asynchronous assignment and polls
// its operation by re-emitting number.assignmentPending to itself after
// growing delays. A failed operation that the inventory does not explain is
// most often Teams not knowing the new license yet: the request parks with
// growing delays and starts the assignment again, up to cfg.TeamsSyncWait.
func AssignNumber(numbers Numbers, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepAssignNumber)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		req, p := in.Data.Request, in.Data.Progress
		if req.PhoneNumber == "" {
			out := in.Next(events.TypeNumberAssigned, source)
			out.Data.Progress.NumberSkipped = true
			return []events.Event{out}, nil
		}
		if p.OperationID != "" {
			return pollNumber(ctx, numbers, cfg, in)
		}

		if out, err := checkInventory(ctx, numbers, in); out != nil || err != nil {
			return out, err
		}
		if p.AccountAdopted {
			if err := checkAdopted(ctx, numbers, req, p.ObjectID); err != nil {
				return nil, err
			}
		}
		return startAssignment(ctx, numbers, cfg, in)
	}
}

// checkAdopted refuses to give an adopted account a second number: an
// account raprov did not create may already answer calls on another one.
func checkAdopted(ctx context.Context, numbers Numbers, req events.Request, objectID string) error {
	held, err := numbers.AssignedTo(ctx, objectID)
	if err != nil {
		return err
	}
	for _, n := range held {
		if n.TelephoneNumber != req.PhoneNumber {
			return fail(events.ReasonUPNConflict, "the adopted account %s already holds %s; raprov never gives an account a second number", req.UserPrincipalName, n.TelephoneNumber)
		}
	}
	return nil
}

// assignedTo reports whether n is assigned, and settled, to objectID.
func assignedTo(n *NumberAssignment, objectID string) bool {
	return n.AssignmentTargetID != "" && strings.EqualFold(n.AssignmentTargetID, objectID) && n.ActivationState != "assignmentPending"
}

// checkInventory looks the requested number up: the failure when the
// account cannot get it, the number.assigned event when the account holds it
// already, or neither when it is free to assign.
func checkInventory(ctx context.Context, numbers Numbers, in events.Event) ([]events.Event, error) {
	req, objectID := in.Data.Request, in.Data.Progress.ObjectID
	n, err := numbers.Lookup(ctx, req.PhoneNumber)
	if err != nil {
		return nil, err
	}
	if err := CheckNumber(n, req, objectID); err != nil {
		return nil, err
	}
	if assignedTo(n, objectID) {
		return reusedNumber(in), nil
	}
	return nil, nil
}

// reusedNumber is the event for a number the account already holds.
func reusedNumber(in events.Event) []events.Event {
	out := in.Next(events.TypeNumberAssigned, events.Source(events.StepAssignNumber))
	out.Data.Progress.OperationID = ""
	out.Data.Progress.NumberReused = true
	teamsSynced(&out.Data.Progress)
	return []events.Event{out}
}

// CheckNumber returns the failure (an *apperr.Error with its reason) for a
// number the account objectID cannot get: not in the inventory, held by
// another account, without the voice-application capability, of another
// type or country than the request; nil when the number is free or already
// the account's. check-license, assign-number and dry-runs judge numbers
// by it.
func CheckNumber(n *NumberAssignment, req events.Request, objectID string) error {
	switch {
	case n == nil:
		return fail(events.ReasonNumberNotFound, "%s is not in the tenant's telephone number inventory", req.PhoneNumber)
	case n.AssignmentTargetID != "" && !strings.EqualFold(n.AssignmentTargetID, objectID):
		return fail(events.ReasonNumberInUse, "%s is assigned to another user or resource account (%s)", req.PhoneNumber, n.AssignmentStatus)
	case !n.HasCapability(CapabilityVoiceApplication):
		return fail(events.ReasonNumberNotAssignable, "%s cannot be assigned to an auto attendant or call queue (capabilities: %s)", req.PhoneNumber, strings.Join(n.Capabilities, ", "))
	case req.NumberType != "" && n.NumberType != "" && !strings.EqualFold(n.NumberType, req.NumberType):
		return fail(events.ReasonNumberNotAssignable, "%s is a %s number, the request asked for %s", req.PhoneNumber, n.NumberType, req.NumberType)
	case n.IsoCountryCode != "" && !strings.EqualFold(n.IsoCountryCode, req.UsageLocation):
		return fail(events.ReasonNumberCountryMismatch, "%s is a %s number but the account's usage location is %s", req.PhoneNumber, strings.ToUpper(n.IsoCountryCode), req.UsageLocation)
	}
	return nil
}

func startAssignment(ctx context.Context, numbers Numbers, cfg Config, in events.Event) ([]events.Event, error) {
	req, p := in.Data.Request, in.Data.Progress
	numberType := req.NumberType
	if numberType == "" {
		numberType = events.NumberTypeCallingPlan
	}
	opID, err := numbers.Assign(ctx, AssignNumberRequest{TelephoneNumber: req.PhoneNumber, AssignmentTargetID: p.ObjectID, NumberType: numberType})
	if err != nil {
		return nil, err
	}
	out := in.Next(events.TypeNumberAssignmentPending, events.Source(events.StepAssignNumber))
	out.Data.Progress.OperationID = opID
	out.Data.Progress.NumberPendingSince = cfg.Now().UTC()
	out.Data.Progress.NumberPolls = 0
	out.Delay = cfg.NumberPoll.Delay(0)
	return []events.Event{out}, nil
}

func pollNumber(ctx context.Context, numbers Numbers, cfg Config, in events.Event) ([]events.Event, error) {
	source := events.Source(events.StepAssignNumber)
	req, p := in.Data.Request, in.Data.Progress
	op, err := numbers.Operation(ctx, p.OperationID)
	if err != nil {
		return nil, notFoundRetryable(err)
	}
	switch op.Status {
	case OperationSucceeded:
		out := in.Next(events.TypeNumberAssigned, source)
		out.Data.Progress.OperationID = ""
		teamsSynced(&out.Data.Progress)
		return []events.Event{out}, nil
	case OperationFailed, OperationSkipped:
		detail := operationDetail(op)
		// Classify against the inventory: a number taken meanwhile is a
		// permanent failure, anything else may be licensing still reaching
		// Teams and is tried again a few times.
		// A number ours already means an earlier operation (a retried or
		// re-delivered Assign) succeeded; this one failed for that reason.
		if out, err := checkInventory(ctx, numbers, in); out != nil || err != nil {
			return out, err
		}
		// Park, then start the assignment again (a pending event without
		// an operation id starts one).
		again := in.Next(events.TypeNumberAssignmentPending, source)
		again.Data.Progress.OperationID = ""
		again.Data.Progress.NumberPolls = 0
		again.Data.Progress.NumberAttempts = p.NumberAttempts + 1
		return waitForTeams(ctx, cfg, again, events.ReasonNumberAssignmentFailed,
			fmt.Sprintf("assigning %s failed %d times, last: %s", req.PhoneNumber, p.NumberAttempts+1, detail))
	case OperationNotStarted, OperationRunning:
		if cfg.Now().Sub(p.NumberPendingSince) >= cfg.NumberWait {
			return nil, fail(events.ReasonRetriesExhausted, "assigning %s still %s after %s", req.PhoneNumber, op.Status, cfg.NumberWait)
		}
		out := in.Next(events.TypeNumberAssignmentPending, source)
		out.Data.Progress.NumberPolls = p.NumberPolls + 1
		out.Delay = cfg.NumberPoll.Delay(p.NumberPolls + 1)
		return []events.Event{out}, nil
	default:
		// Polling a status raprov does not understand would wait for hours
		// on nothing: fail loudly instead (delivered again, then
		// dead-lettered for an operator).
		return nil, apperr.New(apperr.Internal, "", "number assignment operation %s has an unknown status %q", op.ID, op.Status)
	}
}

func operationDetail(op Operation) string {
	var parts []string
	for _, n := range op.Numbers {
		if n.StatusDetail != "" {
			parts = append(parts, n.StatusDetail)
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("operation %s ended %s", op.ID, op.Status)
	}
	return strings.Join(parts, "; ")
}
