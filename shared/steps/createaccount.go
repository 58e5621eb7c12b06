package steps

import (
	"context"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// ResourceAccountDepartment is the department Teams gives resource accounts.
// It is a heuristic only; the application instance is authoritative.
const ResourceAccountDepartment = "Microsoft Communication Application Instance"

// ApplicationID returns the Teams application id for an account type.
func ApplicationID(accountType string) string {
	if accountType == events.AccountTypeCallQueue {
		return CallQueueAppID
	}
	return AutoAttendantAppID
}

// CreateAccount creates the resource account, or reuses it when it already
// is our resource account of the same type (a redelivery, a crash after the
// create, a replay). It creates the user with usageLocation and department
// in one call, looking the UPN up only when the create finds it taken, then
// binds the Teams application instance. A UPN held by a
// normal user or by a resource account of the other type fails the request
// with upn_conflict.
func CreateAccount(accounts Accounts, teams TeamsAdmin, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepCreateAccount)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		req := in.Data.Request
		appID := ApplicationID(req.AccountType)

		var acc *Account
		reused := false
		if id := in.Data.Progress.ObjectID; id != "" {
			// An earlier attempt created the account and carried its id
			// here: no need to look it up (it may not be listed yet).
			acc = &Account{ID: id, UserPrincipalName: req.UserPrincipalName, Department: ResourceAccountDepartment}
		} else {
			// Create first: a fresh UPN, the common case, costs one call.
			// A taken one (a redelivery after a crash, a replay, someone
			// else's user) is looked up and judged below.
			created, err := accounts.Create(ctx, NewAccount{
				UserPrincipalName: req.UserPrincipalName,
				DisplayName:       req.DisplayName,
				MailNickname:      mailNickname(req.UserPrincipalName),
				UsageLocation:     req.UsageLocation,
				Department:        ResourceAccountDepartment,
			})
			switch {
			case err == nil:
				acc = &created
			case apperr.CodeOf(err) == apperr.Conflict: // Accounts.Create: an existing UPN is a Conflict
				// Whichever property Graph names (the UPN, or the mail
				// addresses an existing account derives from it), the
				// account may be ours: look it up.
				found, ferr := accounts.FindByUPN(ctx, req.UserPrincipalName)
				if ferr != nil {
					return nil, ferr
				}
				switch {
				case found == nil && apperr.ReasonOf(err) == events.ReasonUPNConflict:
					// The UPN exists but the directory does not list it
					// yet (replication): look again on the next attempt.
					return nil, retryable(err)
				case found == nil:
					return nil, err
				}
				acc, reused = found, true
			default:
				return nil, err
			}
		}
		learned := in.Data.Progress
		learned.ObjectID = acc.ID
		learned.AccountReused = reused

		// An account found by its UPN may be anything; one this request
		// created (now or in an earlier attempt) is no other type's
		// instance, and Bind is idempotent: no need to read it first.
		var inst *ApplicationInstance
		if reused {
			var err error
			if inst, err = teams.ApplicationInstance(ctx, acc.ID); err != nil {
				return nil, err
			}
		}
		switch {
		case inst != nil && inst.ApplicationID != "" && !strings.EqualFold(inst.ApplicationID, appID):
			return nil, fail(events.ReasonUPNConflict, "%s is a resource account of another type (application id %s)", req.UserPrincipalName, inst.ApplicationID)
		case inst == nil && reused && !strings.EqualFold(acc.Department, ResourceAccountDepartment):
			return nil, fail(events.ReasonUPNConflict, "%s belongs to a user that is not a resource account", req.UserPrincipalName)
		case inst == nil || inst.ApplicationID == "":
			err := teams.Bind(ctx, acc.ID, appID)
			if apperr.CodeOf(err) == apperr.NotFound {
				// Teams has not seen the new user yet; the retry keeps its id.
				return nil, retryableWith(err, learned)
			}
			if err != nil {
				return nil, err
			}
		}

		out := in.Next(events.TypeAccountCreated, source)
		out.Data.Progress.ObjectID = acc.ID
		out.Data.Progress.AccountReused = reused || in.Data.Progress.AccountReused
		out.Data.Progress.ApplicationID = appID
		return []events.Event{out}, nil
	}
}

// mailNickname derives the mail alias from the UPN's local part, dropping
// characters Exchange does not allow in an alias.
func mailNickname(upn string) string {
	local, _, _ := strings.Cut(upn, "@")
	var b strings.Builder
	for _, r := range local {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r):
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "resourceaccount"
	}
	return b.String()
}
