package dryrun

import (
	"context"
	"fmt"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// Verdict is what the chain would do with a request.
type Verdict string

// Verdicts of a Plan.
const (
	// Create: the UPN is free; the chain would create the account.
	Create Verdict = "would create"
	// Continue: the UPN is a resource account raprov created for this same
	// request (an earlier run); the chain would carry on with it.
	Continue Verdict = "would continue raprov's account"
	// Adopt: the request adopts an existing resource account of its type.
	Adopt Verdict = "would adopt"
	// Remove: a deprovision request; the chain would remove the account
	// (Plan.ObjectID, or nothing when it is gone already: Plan.Detail).
	Remove Verdict = "would remove"
	// Fail: the request would fail with Plan.Reason.
	Fail Verdict = "fails"
)

// Plan is the dry run of one request.
type Plan struct {
	Request events.Request
	Verdict Verdict
	// Reason and Detail say why a request fails (Verdict Fail).
	Reason events.Reason
	Detail string
	// ObjectID is the existing account a Continue or Adopt plan goes on with.
	ObjectID string
	// Number is what the inventory says of the requested number: "" when
	// none is requested, else free, ours, in use by …, not found, held by
	// an earlier request of the file, wrong capability/type/country.
	Number string
	// SeatsBefore and SeatsAfter are the free seats of the SKU before and
	// after this request, the file's earlier requests counted. A request
	// that fails, or an account that holds the SKU already, takes none.
	SeatsBefore, SeatsAfter int
	// TakesSeat says the request would assign a license.
	TakesSeat bool
	// LicenseWait says no seat is free for it: check-license would park
	// the request until one is (up to LICENSE_WAIT), then fail no_license.
	LicenseWait bool
	// SameAs, when positive, is the 1-based index of an earlier request of
	// the file with the same id and content: the chain runs it once.
	SameAs int
}

// Outcome is the plan as raprov run reports an outcome: "completed" for a
// request that would succeed, else its reason code.
func (p Plan) Outcome() string {
	if p.Verdict == Fail {
		return string(p.Reason)
	}
	return "completed"
}

// Matches reports whether the plan agrees with expect, the outcome a file
// row expects ("completed" when empty). A request that would wait for a
// license matches both "completed" (seats may be bought meanwhile) and
// "no_license" (the wait may run out).
func (p Plan) Matches(expect string) bool {
	if expect == "" {
		expect = "completed"
	}
	if p.LicenseWait && expect == string(events.ReasonNoLicense) {
		return true
	}
	return p.Outcome() == expect
}

// Ports are the reads a Planner makes. Teams may be nil: existing accounts
// are then judged without their application instance, and the back end's
// readiness is not checked.
type Ports struct {
	Licenses steps.Licenses
	Accounts steps.Accounts
	Numbers  steps.Numbers
	Teams    steps.TeamsAdmin
}

// Planner plans the requests of one file in order. It is not safe for
// concurrent use.
type Planner struct {
	ports   Ports
	skuPart string

	skuRead   bool
	skuExists bool
	sku       steps.Sku
	free      int

	readyRead bool
	readyErr  error

	plans   []Plan
	ids     map[string]int // request id → index in plans
	upns    map[string]int // UPN a planned request takes → index
	numbers map[string]int // number a planned request takes → index
}

// New returns a Planner over ports; skuPartNumber is the resource-account
// license (steps.Config.SkuPartNumber).
func New(ports Ports, skuPartNumber string) *Planner {
	if skuPartNumber == "" {
		skuPartNumber = steps.DefaultConfig().SkuPartNumber
	}
	return &Planner{ports: ports, skuPart: skuPartNumber,
		ids: map[string]int{}, upns: map[string]int{}, numbers: map[string]int{}}
}

// Sku returns the SKU as read (zero and false when the tenant has none, or
// before the first Plan).
func (pl *Planner) Sku() (steps.Sku, bool) { return pl.sku, pl.skuExists }

// Free returns the seats that would be left free after the requests
// planned so far.
func (pl *Planner) Free() int { return pl.free }

// Reject records a request that fails before the tenant is read (an
// invalid row) so the plans' numbering follows the file.
func (pl *Planner) Reject(req events.Request, reason events.Reason, detail string) Plan {
	p := Plan{Request: req, Verdict: Fail, Reason: reason, Detail: detail, SeatsBefore: pl.free, SeatsAfter: pl.free}
	pl.plans = append(pl.plans, p)
	return p
}

// Plan plans req, normalised (events/validate), after the requests planned
// before it. A read that fails with a reason the chain would fail the
// request with (permission_denied, say) makes a Fail plan; any other
// failed read (throttling, an outage) is returned as the error, and the
// request is not planned.
func (pl *Planner) Plan(ctx context.Context, req events.Request) (Plan, error) {
	p, err := pl.plan(ctx, req)
	if err != nil {
		if r := apperr.ReasonOf(err); r != "" && !apperr.IsTransient(err) {
			p = pl.fail(p, r, "%s", err.Error())
		} else if apperr.CodeOf(err) == apperr.Forbidden {
			p = pl.fail(p, events.ReasonPermissionDenied, "%s", err.Error())
		} else {
			return Plan{}, err
		}
	}
	i := len(pl.plans)
	pl.plans = append(pl.plans, p)
	if p.SameAs == 0 {
		pl.ids[req.RequestID] = i
		if p.Verdict != Fail {
			pl.upns[strings.ToLower(req.UserPrincipalName)] = i
			if req.PhoneNumber != "" {
				pl.numbers[req.PhoneNumber] = i
			}
		}
	}
	return p, nil
}

func (pl *Planner) fail(p Plan, reason events.Reason, format string, args ...any) Plan {
	p.Verdict, p.Reason, p.Detail = Fail, reason, fmt.Sprintf(format, args...)
	p.TakesSeat = false
	p.SeatsAfter = p.SeatsBefore
	return p
}

// plan follows the chain's order: the request id (intake), the number's
// pre-flight and the license (check-license), the UPN (create-account).
func (pl *Planner) plan(ctx context.Context, req events.Request) (Plan, error) {
	p := Plan{Request: req}
	if err := pl.readSku(ctx); err != nil {
		return p, err
	}
	p.SeatsBefore, p.SeatsAfter = pl.free, pl.free

	// intake: one id, one request.
	if i, ok := pl.ids[req.RequestID]; ok {
		first := pl.plans[i]
		if first.Request.Fingerprint() != req.Fingerprint() {
			return pl.fail(p, events.ReasonRequestConflict, "requestId %s is used earlier in the file (%s) for a different request", req.RequestID, pl.plans[i].Request.UserPrincipalName), nil
		}
		p = first
		p.SameAs, p.TakesSeat = i+1, false
		p.SeatsBefore, p.SeatsAfter = pl.free, pl.free
		return p, nil
	}

	if req.Deprovision() {
		return pl.planRemoval(ctx, p)
	}

	// check-license: the number's pre-flight, then a seat.
	if req.PhoneNumber != "" {
		if i, ok := pl.numbers[req.PhoneNumber]; ok {
			p.Number = fmt.Sprintf("held by %s", pl.plans[i].Request.RequestID)
			return pl.fail(p, events.ReasonNumberInUse, "%s is requested by %s earlier in the file", req.PhoneNumber, pl.plans[i].Request.RequestID), nil
		}
		n, err := pl.ports.Numbers.Lookup(ctx, req.PhoneNumber)
		if err != nil {
			return p, err
		}
		holder := ""
		if n != nil && n.AssignmentTargetID != "" {
			acc, err := pl.ports.Accounts.Get(ctx, n.AssignmentTargetID)
			switch {
			case apperr.CodeOf(err) == apperr.NotFound:
			case err != nil:
				return p, err
			case steps.BelongsTo(acc, req):
				holder = n.AssignmentTargetID
			}
		}
		f := checkNumber(n, req, holder)
		p.Number = f.state
		if f.reason != "" {
			return pl.fail(p, f.reason, "%s", f.detail), nil
		}
	}
	p.LicenseWait = pl.free <= 0

	// create-account: Teams' readiness, then the UPN.
	if err := pl.ready(ctx); err != nil {
		return p, err
	}
	if i, ok := pl.upns[strings.ToLower(req.UserPrincipalName)]; ok {
		return pl.fail(p, events.ReasonUPNConflict, "%s would be created by %s earlier in the file", req.UserPrincipalName, pl.plans[i].Request.RequestID), nil
	}
	account, err := pl.ports.Accounts.FindByUPN(ctx, req.UserPrincipalName)
	if err != nil {
		return p, err
	}
	if account == nil {
		p.Verdict = Create
	} else {
		var reason events.Reason
		var detail string
		p.Verdict, reason, detail = judge(*account, req)
		if p.Verdict == Fail {
			return pl.fail(p, reason, "%s", detail), nil
		}
		p.ObjectID = account.ID
		if p, err = pl.checkExisting(ctx, p, *account); err != nil || p.Verdict == Fail {
			return p, err
		}
	}

	// assign-license: a seat unless the account holds the SKU already.
	p.TakesSeat = account == nil || !pl.skuExists || !account.HasSku(pl.sku.ID)
	if p.TakesSeat && pl.free > 0 {
		pl.free--
	}
	p.SeatsAfter = pl.free
	return p, nil
}

// judge applies create-account's rules to the account found under req's UPN.
func judge(a steps.Account, req events.Request) (Verdict, events.Reason, string) {
	switch {
	case !steps.IsResourceAccount(a):
		return Fail, events.ReasonUPNConflict, req.UserPrincipalName + " belongs to a user that is not a sign-in-blocked cloud resource account"
	case a.OwnerMark == steps.OwnerMark(req.RequestID):
		return Continue, "", ""
	case !req.Adopt && strings.HasPrefix(a.OwnerMark, ownerMarkPrefix):
		return Fail, events.ReasonUPNConflict, req.UserPrincipalName + " is a resource account raprov created for another request; set adopt to take it over"
	case !req.Adopt:
		return Fail, events.ReasonUPNConflict, req.UserPrincipalName + " is an existing resource account raprov did not create for this request; set adopt to take it over"
	}
	return Adopt, "", ""
}

// checkExisting checks an account the request would continue or adopt:
// an adopted one keeps its usage location and holds no other number
// (steps: checkAdoptable), and its application instance is of the
// requested type (adopted: bound already).
func (pl *Planner) checkExisting(ctx context.Context, p Plan, a steps.Account) (Plan, error) {
	req := p.Request
	if p.Verdict == Adopt {
		if a.UsageLocation != "" && !strings.EqualFold(a.UsageLocation, req.UsageLocation) {
			return pl.fail(p, events.ReasonUPNConflict, "the adopted account %s has usage location %s, the request %s", req.UserPrincipalName, a.UsageLocation, req.UsageLocation), nil
		}
		if req.PhoneNumber != "" {
			held, err := pl.ports.Numbers.AssignedTo(ctx, a.ID)
			if err != nil {
				return p, err
			}
			for _, n := range held {
				if n.TelephoneNumber != req.PhoneNumber {
					return pl.fail(p, events.ReasonUPNConflict, "the adopted account %s already holds %s; raprov never gives an account a second number", req.UserPrincipalName, n.TelephoneNumber), nil
				}
			}
		}
	}
	if pl.ports.Teams == nil {
		return p, nil
	}
	inst, err := pl.ports.Teams.ApplicationInstance(ctx, a.ID)
	if err != nil {
		return p, err
	}
	appID := steps.ApplicationID(req.AccountType)
	switch {
	case inst != nil && inst.ApplicationID != "" && !strings.EqualFold(inst.ApplicationID, appID):
		return pl.fail(p, events.ReasonUPNConflict, "%s is a resource account of another type (application id %s)", req.UserPrincipalName, inst.ApplicationID), nil
	case p.Verdict == Adopt && (inst == nil || inst.ApplicationID == ""):
		return pl.fail(p, events.ReasonUPNConflict, "%s is not a Teams resource account yet; raprov adopts only existing resource accounts of the requested type", req.UserPrincipalName), nil
	}
	return p, nil
}

// readSku reads the SKU once per file: the counts the whole plan starts from.
func (pl *Planner) readSku(ctx context.Context) error {
	if pl.skuRead {
		return nil
	}
	sku, err := pl.ports.Licenses.Sku(ctx, pl.skuPart)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
	case err != nil:
		return err
	default:
		pl.sku, pl.skuExists, pl.free = sku, true, sku.Free()
	}
	pl.skuRead = true
	return nil
}

// ready asks the Teams back end once whether it accepts raprov, as
// create-account does before its first write.
func (pl *Planner) ready(ctx context.Context) error {
	if pl.ports.Teams == nil {
		return nil
	}
	if !pl.readyRead {
		pl.readyErr = pl.ports.Teams.Ready(ctx)
		if apperr.IsTransient(pl.readyErr) {
			return pl.readyErr // not remembered: the next request asks again
		}
		pl.readyRead = true
	}
	return pl.readyErr
}

// planRemoval plans a deprovision request as the deprovisioning steps
// would run it: the account by its UPN, raprov's ownership (the same check
// as the steps, steps.OwnedBy), then what would go — its numbers, its
// resource-account license (a seat freed for the requests after it).
func (pl *Planner) planRemoval(ctx context.Context, p Plan) (Plan, error) {
	req := p.Request
	acc, err := pl.ports.Accounts.FindByUPN(ctx, req.UserPrincipalName)
	if err != nil {
		return p, err
	}
	if acc == nil {
		if req.Target == "" {
			return pl.fail(p, events.ReasonAccountNotFound, "no account has the userPrincipalName %s", req.UserPrincipalName), nil
		}
		p.Verdict, p.Detail = Remove, "the account is gone already: nothing to remove"
		return p, nil
	}
	if _, err := steps.OwnedBy(*acc, req.Target); err != nil {
		return p, err // a not_owned failure: Plan makes it a Fail plan
	}
	held, err := pl.ports.Numbers.AssignedTo(ctx, acc.ID)
	if err != nil {
		return p, err
	}
	p.Verdict, p.ObjectID = Remove, acc.ID
	parts := []string{"association"}
	for _, n := range held {
		parts = append(parts, "number "+n.TelephoneNumber)
	}
	if pl.skuExists && acc.HasSku(pl.sku.ID) {
		parts = append(parts, "license")
		pl.free++
		p.SeatsAfter = pl.free
	}
	p.Detail = "would remove " + strings.Join(parts, ", ") + ", then the account"
	return p, nil
}
