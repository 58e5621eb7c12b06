package steps

import (
	"context"

	"github.com/raprov/raprov/events"
)

// Normalizer validates and normalises a submitted request (events/validate
// with the tenant's options). It is a port so that only the intake function
// links the validator and its phone-number library: every later step
// trusts the request its event carries.
type Normalizer func(events.Request) (events.Request, []events.FieldError)

// DeadLetterRequestConflict is the dead-letter reason of a submission whose
// request id was already used for a different request.
const DeadLetterRequestConflict = string(events.ReasonRequestConflict)

// Intake validates and normalises a provisioning.requested or
// deprovision.requested event. A valid request becomes
// provisioning.accepted or deprovision.accepted; an invalid one provisioning.failed
// with the field and reason code. A request id that another submission
// already claimed for the same request emits nothing: the first
// submission's chain provisions it. One claimed for a different request is
// refused: the input is dead-lettered with reason request_conflict and the
// first request's status, ledger and callback are left alone (a failure
// event would end the first request). Doors that submit synchronously
// (raprov run and submit, HTTP intake) report the conflict to the sender
// before anything is queued.
func Intake(claims Claims, normalize Normalizer, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepIntake)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		submitted := in.Data.Request
		deprovision := in.Type == events.TypeDeprovisionRequested
		var actionErr *events.FieldError
		switch {
		case deprovision:
			submitted.Action = events.ActionDeprovision
		case submitted.Action != events.ActionProvision:
			// The event's type says what is asked; a provisioning event
			// that names another action is refused, never reinterpreted.
			actionErr = &events.FieldError{Field: "action", Reason: events.ReasonInvalidRequest,
				Message: "action " + submitted.Action + " needs a " + events.TypeDeprovisionRequested + " event; this is " + in.Type}
			submitted.Action = events.ActionProvision
		}
		req, errs := normalize(submitted)
		if actionErr != nil {
			errs = append([]events.FieldError{*actionErr}, errs...)
		}
		in.Data.Request = req // Normalize always returns a request id
		in.Data.Progress = events.Progress{}
		if req.Adopt && !cfg.AllowAdopt {
			errs = append(errs, events.FieldError{Field: "adopt", Reason: events.ReasonInvalidRequest,
				Message: "adopt is not enabled: taking over existing resource accounts needs the operator's RAPROV_ALLOW_ADOPT=true"})
		}
		fp := req.Fingerprint()
		holder, holderFP, err := claims.Claim(ctx, req.RequestID, in.ID, fp)
		if err != nil {
			return nil, err
		}
		switch {
		case holder == in.ID:
		case holderFP == "" || holderFP == fp:
			LoggerFrom(ctx).InfoContext(ctx, "duplicate request id: already provisioning")
			return nil, nil
		default:
			LoggerFrom(ctx).WarnContext(ctx, "request id already used for a different request: refused", "holder_event_id", holder)
			return nil, &DeadLetterError{
				Reason: DeadLetterRequestConflict,
				Detail: "requestId " + req.RequestID + " was already used for a different request; submit this one under a new requestId",
			}
		}
		if len(errs) > 0 {
			return []events.Event{in.Fail(source, events.FailureOf(errs))}, nil
		}
		accepted := events.TypeProvisioningAccepted
		if deprovision {
			accepted = events.TypeDeprovisionAccepted
		}
		out := in.Next(accepted, source)
		// A submission carries a request, never progress (cleared above):
		// whatever a sender put there (an object id, "number checked")
		// would skip the checks of later steps.
		out.Data.Progress.AcceptedAt = cfg.Now().UTC()
		return []events.Event{out}, nil
	}
}
