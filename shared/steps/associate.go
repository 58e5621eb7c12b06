package steps

import (
	"context"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// Teams configuration types of an association.
const (
	ConfigurationAutoAttendant = "AutoAttendant"
	ConfigurationCallQueue     = "CallQueue"
)

// Associate links the resource account to the auto attendant or call queue
// the request names (associateWith); without one it passes straight on.
// Associating again with the same configuration is a no-op, so re-delivery
// is safe. An account the request created can only be associated by the
// request itself, which lets the adapter skip reading it first. When the
// back end answers "not found" and does not know the account's application
// instance either, Teams has not caught up with the account yet: the request
// parks with growing delays up to cfg.TeamsSyncWait (then teams_not_ready);
// an account Teams knows makes the "not found" the configuration's
// (association_failed).
func Associate(teams TeamsAdmin, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepAssociate)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		req, p := in.Data.Request, in.Data.Progress
		out := in.Next(events.TypeAccountAssociated, source)
		if req.AssociateWith == "" {
			out.Data.Progress.AssociationSkipped = true
			return []events.Event{out}, nil
		}
		configType := ConfigurationAutoAttendant
		if req.AccountType == events.AccountTypeCallQueue {
			configType = ConfigurationCallQueue
		}
		err := teams.Associate(ctx, Association{
			ConfigurationID:   req.AssociateWith,
			ConfigurationType: configType,
			ObjectIDs:         []string{p.ObjectID},
			Created:           !p.AccountReused,
		})
		if apperr.CodeOf(err) == apperr.NotFound {
			inst, ierr := teams.ApplicationInstance(ctx, p.ObjectID)
			if ierr != nil {
				return nil, ierr
			}
			if inst == nil {
				return waitForTeams(ctx, cfg, in.Next(in.Type, source), events.ReasonTeamsNotReady,
					"Teams does not know "+req.UserPrincipalName+" yet, so it cannot be associated")
			}
		}
		if e, ok := apperr.As(err); ok && e.Reason == "" && !apperr.IsTransient(err) && e.Code != apperr.Forbidden && e.Code != apperr.Internal {
			// A refusal the adapter did not classify is still the association's.
			return nil, &apperr.Error{Code: e.Code, Reason: events.ReasonAssociationFailed, Message: e.Message, Err: err}
		}
		if err != nil {
			return nil, err
		}
		teamsSynced(&out.Data.Progress)
		return []events.Event{out}, nil
	}
}
