package steps

import (
	"context"
	"errors"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// AssignLicense assigns the resource-account license. An account it just
// created already has its usage location and no license, so it assigns
// straight away (one write); a reused account is read first, its usage
// location set only when missing, and the assignment skipped when the SKU is
// already there. A 404 right after creation is replication lag and is
// retried, and so is a refusal for the usage location
// (ErrUsageLocationRejected) after this step set it: licensing learns of a
// usage location just set a while after the directory. Both count against cfg.MaxAttempts. When the
// seats ran out since check-license, the request goes back to waiting for a
// license.
func AssignLicense(accounts Accounts, licenses Licenses, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepAssignLicense)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		p := in.Data.Progress
		out := in.Next(events.TypeLicenseAssigned, source)

		if p.AccountReused {
			acc, err := accounts.Get(ctx, p.ObjectID)
			if apperr.CodeOf(err) == apperr.NotFound {
				return nil, retryable(err)
			}
			if err != nil {
				return nil, err
			}
			if acc.HasSku(p.SkuID) {
				out.Data.Progress.LicenseReused = true
				return []events.Event{out}, nil
			}
			if acc.UsageLocation == "" {
				if err := accounts.SetUsageLocation(ctx, p.ObjectID, in.Data.Request.UsageLocation); err != nil {
					return nil, notFoundRetryable(err)
				}
				p.UsageLocationSet = true
				out.Data.Progress.UsageLocationSet = true
			}
		}

		err := licenses.AssignLicense(ctx, p.ObjectID, p.SkuID)
		switch {
		case err == nil:
			return []events.Event{out}, nil
		case errors.Is(err, ErrUsageLocationRejected) && p.UsageLocationSet:
			// The PATCH above (in this attempt or an earlier one) set the
			// usage location: wait for licensing to see it. Without one,
			// the refusal is the country's (the SKU is not sold there) and
			// final: retrying would only spend the attempts.
			return nil, retryableWith(err, p)
		case apperr.ReasonOf(err) == events.ReasonNoLicense:
			// Paced like check-license's own re-checks and bounded by the
			// same LicenseWait, counted from the first shortage: a tenant
			// whose subscribedSkus keeps showing seats that cannot be
			// assigned must not spin.
			back := in.Next(events.TypeProvisioningAccepted, source)
			bp := &back.Data.Progress
			bp.SkuID = ""
			if bp.LicenseWaitSince.IsZero() {
				bp.LicenseWaitSince = cfg.Now().UTC()
			}
			back.Delay = cfg.LicenseRecheck.Delay(bp.LicenseChecks)
			bp.LicenseChecks++
			LoggerFrom(ctx).InfoContext(ctx, "license seats ran out; waiting again", "error", errMessage(err), "delay_ms", back.Delay.Milliseconds())
			return []events.Event{back}, nil
		default:
			return nil, notFoundRetryable(err)
		}
	}
}

// ErrUsageLocationRejected marks, inside the Licenses adapter's
// *apperr.Error (code Invalid), Graph's refusal of a license assignment for
// the user's usage location: 400 "License assignment cannot be done for user
// with invalid usage location.". Graph answers it for a while after the
// usage location was set, so AssignLicense retries it; no other 400 is
// retried.
var ErrUsageLocationRejected = errors.New("license assignment refused for the user's usage location")

// notFoundRetryable marks NotFound as replication lag worth retrying.
func notFoundRetryable(err error) error {
	if apperr.CodeOf(err) == apperr.NotFound {
		return retryable(err)
	}
	return err
}
