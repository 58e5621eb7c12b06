package steps

import (
	"context"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// RemoveLicense takes the resource-account license (cfg.SkuPartNumber) back
// from the account being removed, once its numbers are released (an
// unlicensed account cannot hold a number; the order matters the other way
// round too). Only that license: any other license someone gave the
// account is not raprov's to take. An account without it passes on, so
// re-delivery is safe; the freed seat is the tenant's again.
func RemoveLicense(accounts Accounts, licenses Licenses, remover LicenseRemover, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepRemoveLicense)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		p := in.Data.Progress
		if p.AccountAbsent {
			return passAbsent(in, events.TypeLicenseRemoved, source), nil
		}
		acc, found, err := ownedAccount(ctx, accounts, p)
		if err != nil {
			return nil, err
		}
		if !found {
			return passAbsent(in, events.TypeLicenseRemoved, source), nil
		}
		out := in.Next(events.TypeLicenseRemoved, source)
		sku, err := licenses.Sku(ctx, cfg.SkuPartNumber)
		switch {
		case apperr.CodeOf(err) == apperr.NotFound:
			// The tenant has no such SKU any more: no account holds it.
			return []events.Event{out}, nil
		case err != nil:
			return nil, err
		}
		out.Data.Progress.SkuID = sku.ID
		if !acc.HasSku(sku.ID) {
			return []events.Event{out}, nil
		}
		if err := remover.RemoveLicense(ctx, acc.ID, sku.ID); err != nil {
			return nil, err
		}
		out.Data.Progress.LicenseRemoved = true
		return []events.Event{out}, nil
	}
}
