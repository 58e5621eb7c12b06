package steps

import (
	"context"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
)

// Intake validates and normalises a provisioning.requested event. A valid
// request becomes provisioning.accepted; an invalid one provisioning.failed
// with the field and reason code. A request id that another submission
// already claimed emits nothing: the first submission's chain provisions it.
func Intake(claims Claims, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepIntake)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		req, errs := validate.Normalize(in.Data.Request, validate.Options{VerifiedDomains: cfg.VerifiedDomains})
		in.Data.Request = req // Normalize always returns a request id
		first, err := claims.Claim(ctx, req.RequestID, in.ID)
		if err != nil {
			return nil, err
		}
		if !first {
			LoggerFrom(ctx).InfoContext(ctx, "duplicate request id: already provisioning")
			return nil, nil
		}
		if len(errs) > 0 {
			return []events.Event{in.Fail(source, events.FailureOf(errs))}, nil
		}
		out := in.Next(events.TypeProvisioningAccepted, source)
		out.Data.Progress.AcceptedAt = cfg.Now().UTC()
		return []events.Event{out}, nil
	}
}
