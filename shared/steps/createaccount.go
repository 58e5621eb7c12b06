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

// CreateAccount creates the resource account and binds its Teams application
// instance. Before its first write it asks the Teams back end whether it
// accepts raprov (TeamsAdmin.Ready), so a refusal leaves no user behind. It
// creates the user with usageLocation, department and the ownership mark
// (OwnerMark) in one call, looking the UPN up only when the create finds it
// taken. A taken UPN is continued only when the account carries this
// request's mark and is a sign-in-blocked cloud resource account (an earlier
// delivery of the same request created it), or when the request adopts it
// (request.adopt, allowed by the operator) and it is already a resource
// account of the requested type — raprov binds only accounts it created, and
// an adopted account is checked before anything is written: its usage
// location matches and it holds no other number. Anything else — a normal
// user, someone else's resource account, an account of the other type, a
// synced one — fails the request with upn_conflict, and raprov changes
// nothing of it.
//
// A bind that Teams answers "not found" (the new user has not reached Teams
// yet) parks the request with growing delays up to cfg.TeamsSyncWait, then
// fails it with teams_not_ready.
func CreateAccount(accounts Accounts, teams TeamsAdmin, numbers Numbers, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepCreateAccount)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		req := in.Data.Request
		appID := ApplicationID(req.AccountType)
		mark := OwnerMark(req.RequestID)

		learned := in.Data.Progress
		if learned.ObjectID == "" {
			if err := teams.Ready(ctx); err != nil {
				return nil, err
			}
			acc, adopted, err := createOrFind(ctx, accounts, req, mark)
			if err != nil {
				return nil, err
			}
			if adopted {
				if err := checkAdoptable(ctx, numbers, req, acc.Account); err != nil {
					return nil, err
				}
			}
			learned.ObjectID = acc.ID
			learned.AccountReused = acc.reused
			learned.AccountAdopted = adopted
		}
		// An earlier attempt created (or judged) the account and carried
		// its id here: no need to look it up again (it may not be listed yet).

		// An account found by its UPN may be bound already, to either type;
		// one this request created now is not, and Bind is idempotent: no
		// need to read it first.
		var inst *ApplicationInstance
		if learned.AccountReused {
			var err error
			if inst, err = teams.ApplicationInstance(ctx, learned.ObjectID); err != nil {
				return nil, retryableOrPermanent(err, learned)
			}
		}
		switch {
		case inst != nil && inst.ApplicationID != "" && !sameID(inst.ApplicationID, appID):
			return nil, fail(events.ReasonUPNConflict, "%s is a resource account of another type (application id %s)", req.UserPrincipalName, inst.ApplicationID)
		case learned.AccountAdopted && (inst == nil || inst.ApplicationID == ""):
			// Binding would turn whatever the account is into a resource
			// account: raprov binds only the accounts it creates.
			return nil, fail(events.ReasonUPNConflict, "%s is not a Teams resource account yet; raprov adopts only existing resource accounts of the requested type", req.UserPrincipalName)
		case inst == nil || inst.ApplicationID == "":
			err := teams.Bind(ctx, learned.ObjectID, appID)
			if apperr.CodeOf(err) == apperr.NotFound {
				park := in.Next(in.Type, source)
				park.Data.Progress = learned
				return waitForTeams(ctx, cfg, park, events.ReasonTeamsNotReady,
					"Teams does not know "+req.UserPrincipalName+" yet")
			}
			if err != nil {
				// The retry keeps what this attempt learned: the account
				// exists now and must not be created again.
				return nil, retryableOrPermanent(err, learned)
			}
		}

		out := in.Next(events.TypeAccountCreated, source)
		out.Data.Progress = learned
		out.Data.Progress.ApplicationID = appID
		teamsSynced(&out.Data.Progress)
		return []events.Event{out}, nil
	}
}

// foundAccount is an account create-account continues.
type foundAccount struct {
	Account
	reused bool // it existed before this attempt
}

// createOrFind creates the request's account, or finds the existing one with
// its UPN and decides whether the request may continue it: when it carries
// the request's ownership mark, or when the request adopts it; either way
// only a sign-in-blocked cloud resource account.
func createOrFind(ctx context.Context, accounts Accounts, req events.Request, mark string) (foundAccount, bool, error) {
	// Create first: a fresh UPN, the common case, costs one call. A taken
	// one (a redelivery after a crash, a replay, someone else's user) is
	// looked up and judged below.
	created, err := accounts.Create(ctx, NewAccount{
		UserPrincipalName: req.UserPrincipalName,
		DisplayName:       req.DisplayName,
		MailNickname:      mailNickname(req.UserPrincipalName),
		UsageLocation:     req.UsageLocation,
		Department:        ResourceAccountDepartment,
		OwnerMark:         mark,
	})
	if err == nil {
		return foundAccount{Account: created}, false, nil
	}
	if apperr.CodeOf(err) != apperr.Conflict { // Accounts.Create: an existing UPN is a Conflict
		return foundAccount{}, false, err
	}
	// Whichever property Graph names (the UPN, or the mail addresses an
	// existing account derives from it), the account may be ours: look it up.
	found, ferr := accounts.FindByUPN(ctx, req.UserPrincipalName)
	switch {
	case ferr != nil:
		return foundAccount{}, false, ferr
	case found == nil && apperr.ReasonOf(err) == events.ReasonUPNConflict:
		// The UPN exists but the directory does not list it yet
		// (replication): look again on the next attempt.
		return foundAccount{}, false, retryable(err)
	case found == nil:
		return foundAccount{}, false, err
	case !IsResourceAccount(*found):
		// A mark alone proves nothing: on a synced account it is written
		// on premises, and anyone who edits user attributes can copy it.
		return foundAccount{}, false, fail(events.ReasonUPNConflict, "%s belongs to a user that is not a sign-in-blocked cloud resource account", req.UserPrincipalName)
	case found.OwnerMark == mark:
		return foundAccount{Account: *found, reused: true}, false, nil
	case !req.Adopt && strings.HasPrefix(found.OwnerMark, ownerMarkPrefix):
		return foundAccount{}, false, fail(events.ReasonUPNConflict, "%s is a resource account raprov created for another request; set adopt to take it over", req.UserPrincipalName)
	case !req.Adopt:
		return foundAccount{}, false, fail(events.ReasonUPNConflict, "%s is an existing resource account raprov did not create for this request; set adopt to take it over", req.UserPrincipalName)
	}
	LoggerFrom(ctx).InfoContext(ctx, "adopting an existing resource account", "object_id", found.ID)
	return foundAccount{Account: *found, reused: true}, true, nil
}

// BelongsTo reports whether req may continue the existing account a, by the
// rules createOrFind applies to a taken UPN: a sign-in-blocked cloud resource
// account that carries req's ownership mark, or that req adopts (same UPN).
func BelongsTo(a Account, req events.Request) bool {
	return IsResourceAccount(a) && (a.OwnerMark == OwnerMark(req.RequestID) ||
		req.Adopt && strings.EqualFold(a.UserPrincipalName, req.UserPrincipalName))
}

// IsResourceAccount reports whether a looks like a resource account raprov
// may continue: Teams' resource-account department, sign-in blocked, and
// made in the cloud (not synchronised from on-premises AD).
func IsResourceAccount(a Account) bool {
	return strings.EqualFold(a.Department, ResourceAccountDepartment) && !a.AccountEnabled && !a.OnPremisesSynced
}

// checkAdoptable refuses, before anything is written, an adopted account
// the request cannot finish on: another usage location (its number would be
// of the wrong country) or another number already assigned to it (raprov
// never gives an account a second number).
func checkAdoptable(ctx context.Context, numbers Numbers, req events.Request, acc Account) error {
	if acc.UsageLocation != "" && !strings.EqualFold(acc.UsageLocation, req.UsageLocation) {
		return fail(events.ReasonUPNConflict, "the adopted account %s has usage location %s, the request %s", req.UserPrincipalName, acc.UsageLocation, req.UsageLocation)
	}
	if req.PhoneNumber == "" {
		return nil
	}
	return checkAdopted(ctx, numbers, req, acc.ID)
}

// retryableOrPermanent keeps progress on a transient error's retry; a
// permanent error fails the request as it is.
func retryableOrPermanent(err error, progress events.Progress) error {
	if apperr.IsTransient(err) {
		return retryableWith(err, progress)
	}
	return err
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
