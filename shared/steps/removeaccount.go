package steps

import (
	"context"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// RemoveAccount ends deprovisioning: it checks the account once more (see
// ownedBy) and deletes it, or, with cfg.DeprovisionMode block, keeps it
// with sign-in blocked. An account that is gone already passes on with
// accountAbsent, so re-delivery is safe.
func RemoveAccount(accounts Accounts, remover AccountRemover, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepRemoveAccount)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		p := in.Data.Progress
		if p.AccountAbsent {
			return passAbsent(in, events.TypeAccountRemoved, source), nil
		}
		acc, found, err := ownedAccount(ctx, accounts, p)
		if err != nil {
			return nil, err
		}
		if !found {
			return passAbsent(in, events.TypeAccountRemoved, source), nil
		}
		out := in.Next(events.TypeAccountRemoved, source)
		switch cfg.DeprovisionMode {
		case DeprovisionDelete:
			err = remover.Delete(ctx, acc.ID)
			out.Data.Progress.AccountDeleted = true
		case DeprovisionBlock:
			err = remover.Block(ctx, acc.ID)
			out.Data.Progress.AccountBlocked = true
		default:
			// Config.Check refuses this at start-up; a step built
			// without it must not guess which removal was meant.
			err = apperr.New(apperr.Internal, "", "RAPROV_DEPROVISION_MODE %q is not delete or block", cfg.DeprovisionMode)
		}
		if err != nil {
			return nil, err
		}
		return []events.Event{out}, nil
	}
}
