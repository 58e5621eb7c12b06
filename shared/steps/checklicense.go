package steps

import (
	"context"
	"fmt"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// CheckLicense is the chain's pre-flight and its wait for a license. Before
// anything is created it checks the requested phone number against the
// tenant's inventory (it exists, is free or already this request's, can be
// assigned to voice applications, has the requested type and country), so a
// request that cannot finish fails in milliseconds and leaves nothing behind
// (assign-number checks again: the number can be taken in between). Then it
// waits for a free resource-account license. With a free seat
// it emits license.available carrying the SKU id. Without one it parks the
// request: it re-emits the event to itself after a growing delay until
// cfg.LicenseWait has passed since the first empty check, then fails the
// request with no_license. A tenant without the SKU at all waits the same
// way (buying the license adds it). LicenseWait bounds the total time a
// request waits for licenses, counted from its first shortage, including
// rounds sent back by assign-license when the seats ran out meanwhile.
func CheckLicense(licenses Licenses, numbers Numbers, accounts Accounts, holds NumberHolds, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepCheckLicense)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		if err := preflightNumber(ctx, numbers, accounts, holds, in); err != nil {
			return nil, err
		}
		in.Data.Progress.NumberChecked = in.Data.Request.PhoneNumber != ""
		sku, err := licenses.Sku(ctx, cfg.SkuPartNumber)
		if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return nil, err
		}
		if err == nil && sku.Free() > 0 {
			out := in.Next(events.TypeLicenseAvailable, source)
			out.Data.Progress.SkuID = sku.ID
			return []events.Event{out}, nil
		}
		now := cfg.Now().UTC()
		p := in.Data.Progress
		if p.LicenseWaitSince.IsZero() {
			p.LicenseWaitSince = now
		}
		if now.Sub(p.LicenseWaitSince) >= cfg.LicenseWait {
			why := fmt.Sprintf("no free %s license", cfg.SkuPartNumber)
			if err != nil {
				why = fmt.Sprintf("the tenant has no %s subscription", cfg.SkuPartNumber)
			}
			return nil, fail(events.ReasonNoLicense, "%s after waiting %s", why, cfg.LicenseWait)
		}
		delay := min(cfg.LicenseRecheck.Delay(p.LicenseChecks), cfg.LicenseWait-now.Sub(p.LicenseWaitSince))
		p.LicenseChecks++
		out := in.Next(events.TypeProvisioningAccepted, source)
		out.Data.Progress = p
		out.Delay = delay
		LoggerFrom(ctx).InfoContext(ctx, "waiting for a free license", "sku", cfg.SkuPartNumber, "delay_ms", delay.Milliseconds(), "checks", p.LicenseChecks)
		return []events.Event{out}, nil
	}
}

// preflightNumber checks the requested number once, before the first write
// of the request. A number assigned to an account is accepted only when that
// account is this request's own (it carries the request's ownership mark: a
// redelivery after the chain assigned it) or the one it adopts. A number that
// passes is held for the request until it ends (the complete step releases
// it), so another request for it in the meantime is refused here too.
func preflightNumber(ctx context.Context, numbers Numbers, accounts Accounts, holds NumberHolds, in events.Event) error {
	req, p := in.Data.Request, in.Data.Progress
	if req.PhoneNumber == "" || p.NumberChecked {
		return nil
	}
	n, err := numbers.Lookup(ctx, req.PhoneNumber)
	if err != nil {
		return err
	}
	holder := p.ObjectID
	if n != nil && n.AssignmentTargetID != "" && !sameID(n.AssignmentTargetID, holder) {
		ours, err := heldByRequest(ctx, accounts, req, n.AssignmentTargetID)
		if err != nil {
			return err
		}
		if ours {
			holder = n.AssignmentTargetID
		}
	}
	if err := CheckNumber(n, req, holder); err != nil {
		return err
	}
	if holds == nil {
		return nil
	}
	by, err := holds.Hold(ctx, req.PhoneNumber, req.RequestID)
	if err != nil {
		return err
	}
	if by != req.RequestID {
		return fail(events.ReasonNumberInUse, "%s is requested by another request still in progress (%s)", req.PhoneNumber, by)
	}
	return nil
}

// heldByRequest reports whether the account objectID belongs to req (see
// BelongsTo).
func heldByRequest(ctx context.Context, accounts Accounts, req events.Request, objectID string) (bool, error) {
	acc, err := accounts.Get(ctx, objectID)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		return false, nil // a holder the directory does not know is not ours
	case err != nil:
		return false, err
	}
	return BelongsTo(acc, req), nil
}
