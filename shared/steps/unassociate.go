package steps

import (
	"context"

	"github.com/raprov/raprov/events"
)

// Unassociate is the first step of deprovisioning. It finds the account by
// the request's UPN and checks, before anything is written, that raprov
// created it (for the request's target, when it names one; see OwnedBy),
// then removes its association with an auto attendant or call queue. An
// account that does not exist is the goal reached when the request names
// its target (the account was removed before: the request completes with
// accountAbsent) and account_not_found otherwise (most likely a mistyped
// UPN). Removing an association that is gone already is a no-op, so
// re-delivery is safe.
func Unassociate(accounts Accounts, teams Unassociator, cfg Config) Step {
	source := events.Source(events.StepUnassociate)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		req := in.Data.Request
		acc, err := accounts.FindByUPN(ctx, req.UserPrincipalName)
		if err != nil {
			return nil, err
		}
		if acc == nil {
			if req.Target == "" {
				return nil, fail(events.ReasonAccountNotFound, "no account has the userPrincipalName %s", req.UserPrincipalName)
			}
			LoggerFrom(ctx).InfoContext(ctx, "the account to remove no longer exists", "target", req.Target)
			return passAbsent(in, events.TypeAccountUnassociated, source), nil
		}
		owner, err := OwnedBy(*acc, req.Target)
		if err != nil {
			return nil, err
		}
		if err := teams.Unassociate(ctx, acc.ID); err != nil {
			return nil, err
		}
		out := in.Next(events.TypeAccountUnassociated, source)
		out.Data.Progress.ObjectID = acc.ID
		out.Data.Progress.Owner = owner
		out.Data.Progress.Unassociated = true
		return []events.Event{out}, nil
	}
}
