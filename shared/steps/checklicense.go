package steps

import (
	"context"
	"fmt"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// CheckLicense waits for a free resource-account license. With a free seat
// it emits license.available carrying the SKU id. Without one it parks the
// request: it re-emits the event to itself after a growing delay until
// cfg.LicenseWait has passed since the first empty check, then fails the
// request with no_license. A tenant without the SKU at all waits the same
// way (buying the license adds it). LicenseWait bounds the total time a
// request waits for licenses, counted from its first shortage, including
// rounds sent back by assign-license when the seats ran out meanwhile.
func CheckLicense(licenses Licenses, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepCheckLicense)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
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
