package steps_test

import (
	"context"
	"errors"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

// usageLocationRejected is what the Graph adapter returns for Graph's 400
// "License assignment cannot be done for user with invalid usage location.".
func usageLocationRejected() error {
	return &apperr.Error{
		Code: apperr.Invalid, Reason: events.ReasonRejected,
		Message: "graph: assign license: HTTP 400 Request_BadRequest: License assignment cannot be done for user with invalid usage location.",
		Err:     steps.ErrUsageLocationRejected,
	}
}

// TestAssignLicenseUsageLocationJustSet: a reused account without usage
// location gets it and the license at once; Graph refuses the assignment
// until licensing sees the new usage location, and the step retries
// without setting it again.
func TestAssignLicenseUsageLocationJustSet(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	acc := &steps.Account{ID: "obj-1"}
	var patched, assigned int
	accounts := &mock.Accounts{
		GetFn: func(context.Context, string) (steps.Account, error) { return *acc, nil },
		SetUsageLocationFn: func(_ context.Context, _, loc string) error {
			patched++
			acc.UsageLocation = loc
			return nil
		},
	}
	refusals := 2
	lic := &mock.Licenses{AssignLicenseFn: func(context.Context, string, string) error {
		assigned++
		if refusals > 0 {
			refusals--
			return usageLocationRejected()
		}
		acc.AssignedSkuIDs = []string{"sku-1"}
		return nil
	}}
	step := steps.AssignLicense(accounts, lic, cfg)
	in := request()
	in.Type = events.TypeAccountCreated
	in.Data.Progress.AccountReused = true

	retry := runOne(t, events.StepAssignLicense, step, cfg, in, events.TypeAccountCreated)
	if retry.Attempt != 1 || retry.Delay <= 0 || patched != 1 || assigned != 1 {
		t.Fatalf("first run: attempt %d delay %v, patched %d assigned %d; want a delayed retry after one patch and one assignment",
			retry.Attempt, retry.Delay, patched, assigned)
	}
	retry = runOne(t, events.StepAssignLicense, step, cfg, retry, events.TypeAccountCreated)
	if retry.Attempt != 2 || patched != 1 || assigned != 2 {
		t.Fatalf("second run: attempt %d, patched %d assigned %d; the usage location is set once", retry.Attempt, patched, assigned)
	}
	done := runOne(t, events.StepAssignLicense, step, cfg, retry, events.TypeLicenseAssigned)
	if patched != 1 || assigned != 3 || done.Data.Progress.ObjectID != "obj-1" {
		t.Fatalf("third run: patched %d assigned %d progress %+v", patched, assigned, done.Data.Progress)
	}
}

// TestAssignLicenseUsageLocationBounded: the retries stop at the step's
// retry limit, like any transient failure; and an account whose usage
// location raprov did not just set (it came with the create call) fails at
// once: its country is refused, and retrying would only spend attempts.
func TestAssignLicenseUsageLocationBounded(t *testing.T) {
	now := t0
	cfg := testConfig(&now) // MaxAttempts 3
	lic := &mock.Licenses{AssignLicenseFn: func(context.Context, string, string) error { return usageLocationRejected() }}
	acc := &steps.Account{ID: "obj-1"}
	accounts := &mock.Accounts{
		GetFn: func(context.Context, string) (steps.Account, error) { return *acc, nil },
		SetUsageLocationFn: func(_ context.Context, _, loc string) error {
			acc.UsageLocation = loc
			return nil
		},
	}
	step := steps.AssignLicense(accounts, lic, cfg)
	ev := request()
	ev.Type = events.TypeAccountCreated
	ev.Data.Progress.AccountReused = true
	for attempt := 1; attempt < cfg.MaxAttempts; attempt++ {
		ev = runOne(t, events.StepAssignLicense, step, cfg, ev, events.TypeAccountCreated)
		if ev.Attempt != attempt || !ev.Data.Progress.UsageLocationSet {
			t.Fatalf("attempt %d (progress %+v), want %d with the usage location recorded as set", ev.Attempt, ev.Data.Progress, attempt)
		}
	}
	out, err := run(t, events.StepAssignLicense, step, cfg, ev)
	dl, ok := steps.AsDeadLetter(err)
	if !ok || len(out) != 0 {
		t.Fatalf("after %d attempts: out %+v err %v, want a dead letter", cfg.MaxAttempts, out, err)
	}
	if len(dl.Emit) != 1 || dl.Emit[0].Data.Failure == nil || dl.Emit[0].Data.Failure.Reason != events.ReasonRetriesExhausted {
		t.Fatalf("dead letter emits %+v, want one failure with reason %s", dl.Emit, events.ReasonRetriesExhausted)
	}

	fresh := request() // created with its usage location: no read, no patch
	fresh.Type = events.TypeAccountCreated
	out, err = run(t, events.StepAssignLicense, steps.AssignLicense(&mock.Accounts{}, lic, cfg), cfg, fresh)
	wantFailure(t, out, err, events.ReasonRejected)
}

// TestAssignLicenseOtherBadRequestsFail: no other 400 is retried.
func TestAssignLicenseOtherBadRequestsFail(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	tests := []struct {
		name string
		err  error
	}{
		{"rejected", apperr.New(apperr.Invalid, events.ReasonRejected, "graph: assign license: HTTP 400 Request_BadRequest: User does not have a corresponding license.")},
		{"wrapping another cause", &apperr.Error{Code: apperr.Invalid, Reason: events.ReasonRejected, Message: "400", Err: errors.New("invalid usage location")}},
		{"forbidden", apperr.New(apperr.Forbidden, events.ReasonPermissionDenied, "graph: assign license: HTTP 403 Authorization_RequestDenied")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			lic := &mock.Licenses{AssignLicenseFn: func(context.Context, string, string) error {
				calls++
				return tt.err
			}}
			in := request()
			in.Type = events.TypeAccountCreated
			out, err := run(t, events.StepAssignLicense, steps.AssignLicense(&mock.Accounts{}, lic, cfg), cfg, in)
			wantFailure(t, out, err, apperr.ReasonOf(tt.err))
			if calls != 1 {
				t.Errorf("%d assignments, want 1", calls)
			}
		})
	}
}
