package steps

import (
	"context"
	"slices"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// UnassignNumber releases every number assigned to the account being
// removed, one at a time, before its license and the account go (Microsoft:
// a number still assigned to a deleted account gets stuck). It starts an
// unassignment and polls its operation by re-emitting
// number.unassignmentPending to itself after growing delays, like
// assign-number; then it lists the account's numbers again, so a number
// someone assigned meanwhile is released too. A failed operation fails the
// request (number_unassignment_failed) with the account still licensed; an
// operation pending past cfg.NumberWait fails it with retries_exhausted.
func UnassignNumber(accounts Accounts, numbers Numbers, unassigner NumberUnassigner, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepUnassignNumber)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		p := in.Data.Progress
		if p.AccountAbsent {
			return passAbsent(in, events.TypeNumberUnassigned, source), nil
		}
		if p.OperationID != "" {
			return pollUnassign(ctx, accounts, numbers, unassigner, cfg, in)
		}
		return nextUnassign(ctx, accounts, numbers, unassigner, cfg, in)
	}
}

// nextUnassign starts the unassignment of the account's next number, or
// emits number.unassigned when it holds none.
func nextUnassign(ctx context.Context, accounts Accounts, numbers Numbers, unassigner NumberUnassigner, cfg Config, in events.Event) ([]events.Event, error) {
	source := events.Source(events.StepUnassignNumber)
	p := in.Data.Progress
	if _, found, err := ownedAccount(ctx, accounts, p); err != nil || !found {
		if err != nil {
			return nil, err
		}
		return passAbsent(in, events.TypeNumberUnassigned, source), nil
	}
	held, err := numbers.AssignedTo(ctx, p.ObjectID)
	if err != nil {
		return nil, err
	}
	// A number released by this request that the listing still shows is
	// the listing lagging behind: its operation succeeded.
	held = slices.DeleteFunc(held, func(n NumberAssignment) bool {
		return slices.Contains(p.ReleasedNumbers, n.TelephoneNumber)
	})
	if len(held) == 0 {
		out := in.Next(events.TypeNumberUnassigned, source)
		out.Data.Progress.OperationID, out.Data.Progress.UnassignNumber = "", ""
		return []events.Event{out}, nil
	}
	n := held[0]
	numberType := n.NumberType
	if numberType == "" {
		numberType = events.NumberTypeCallingPlan
	}
	opID, err := unassigner.Unassign(ctx, n.TelephoneNumber, numberType)
	if err != nil {
		return nil, err
	}
	out := in.Next(events.TypeNumberUnassignmentPending, source)
	out.Data.Progress.UnassignNumber = n.TelephoneNumber
	out.Data.Progress.OperationID = opID
	out.Data.Progress.NumberPendingSince = cfg.Now().UTC()
	out.Data.Progress.NumberPolls = 0
	out.Delay = cfg.NumberPoll.Delay(0)
	return []events.Event{out}, nil
}

func pollUnassign(ctx context.Context, accounts Accounts, numbers Numbers, unassigner NumberUnassigner, cfg Config, in events.Event) ([]events.Event, error) {
	source := events.Source(events.StepUnassignNumber)
	p := in.Data.Progress
	op, err := numbers.Operation(ctx, p.OperationID)
	if err != nil {
		return nil, notFoundRetryable(err)
	}
	switch op.Status {
	case OperationSucceeded, OperationSkipped:
		// Skipped: there was nothing to unassign (the number was free
		// already). Either way it is no longer the account's.
		next := in
		next.Data.Progress.ReleasedNumbers = append(slices.Clone(p.ReleasedNumbers), p.UnassignNumber)
		next.Data.Progress.OperationID, next.Data.Progress.UnassignNumber = "", ""
		return nextUnassign(ctx, accounts, numbers, unassigner, cfg, next)
	case OperationFailed:
		return nil, fail(events.ReasonNumberUnassignmentFailed, "unassigning %s from %s failed: %s", p.UnassignNumber, in.Data.Request.UserPrincipalName, operationDetail(op))
	case OperationNotStarted, OperationRunning:
		if cfg.Now().Sub(p.NumberPendingSince) >= cfg.NumberWait {
			return nil, fail(events.ReasonRetriesExhausted, "unassigning %s still %s after %s", p.UnassignNumber, op.Status, cfg.NumberWait)
		}
		out := in.Next(events.TypeNumberUnassignmentPending, source)
		out.Data.Progress.NumberPolls = p.NumberPolls + 1
		out.Delay = cfg.NumberPoll.Delay(p.NumberPolls + 1)
		return []events.Event{out}, nil
	default:
		return nil, apperr.New(apperr.Internal, "", "number unassignment operation %s has an unknown status %q", op.ID, op.Status)
	}
}
