package graph_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// TestUsageLocationJustSet: Graph refuses a license assignment for a while
// after the usage location was set (the simulator's UsageLocationDelay);
// the adapter marks that 400, and only that one, for assign-license to
// retry.
func TestUsageLocationJustSet(t *testing.T) {
	const delay = 500 * time.Millisecond
	clock := graphsim.NewFakeClock(time.Now())
	f := startSim(t, graphsim.Config{Clock: clock, Knobs: graphsim.Knobs{UsageLocationDelay: delay}})
	c := f.client(t, f.config())
	ctx := context.Background()

	acc, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-justset@contoso.com", DisplayName: "Just set"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetUsageLocation(ctx, acc.ID, "GB"); err != nil {
		t.Fatal(err)
	}
	// The simulator's clock stands still: the assignment comes "at once".
	err = c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID)
	wantAppErr(t, err, apperr.Invalid, events.ReasonRejected)
	if !errors.Is(err, steps.ErrUsageLocationRejected) {
		t.Fatalf("error %v does not carry steps.ErrUsageLocationRejected", err)
	}
	if apperr.IsTransient(err) {
		t.Error("the adapter must leave the retry decision to the step")
	}

	// Any other 400 is not marked.
	err = c.AssignLicense(ctx, acc.ID, "00000000-0000-0000-0000-0000000000ff")
	wantAppErr(t, err, apperr.Invalid, events.ReasonNoLicense)
	if errors.Is(err, steps.ErrUsageLocationRejected) {
		t.Errorf("unknown SKU marked as a usage-location refusal: %v", err)
	}
	_, err = c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-bad@contoso.com", DisplayName: "Bad", UsageLocation: "XX1"})
	wantAppErr(t, err, apperr.Invalid, events.ReasonRejected)
	if errors.Is(err, steps.ErrUsageLocationRejected) {
		t.Errorf("invalid property value marked as a usage-location refusal: %v", err)
	}

	clock.Advance(delay - time.Nanosecond)
	if err := c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); !errors.Is(err, steps.ErrUsageLocationRejected) {
		t.Fatalf("just before the delay: %v, want the usage-location refusal", err)
	}
	clock.Advance(time.Nanosecond)
	if err := c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
	got, err := c.Get(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UsageLocation != "GB" || !got.HasSku(graphsim.VirtualUserSkuID) {
		t.Errorf("account %+v", got)
	}
}

// TestForbidden: a call the application lacks the permission for is apperr
// Forbidden with reason permission_denied, whichever call it is.
func TestForbidden(t *testing.T) {
	tests := []struct {
		name    string
		without string
		call    func(context.Context, *fixture, string) error
	}{
		{"subscribedSkus", graphsim.PermLicenseAssignmentReadAll, func(ctx context.Context, f *fixture, _ string) error {
			_, err := f.client(t, f.config()).Sku(ctx, virtualUser)
			return err
		}},
		{"create user", graphsim.PermUserReadWriteAll, func(ctx context.Context, f *fixture, _ string) error {
			_, err := f.client(t, f.config()).Create(ctx, steps.NewAccount{UserPrincipalName: "ra-denied@contoso.com", DisplayName: "Denied", UsageLocation: "US"})
			return err
		}},
		{"find user", graphsim.PermUserReadWriteAll, func(ctx context.Context, f *fixture, _ string) error {
			_, err := f.client(t, f.config()).FindByUPN(ctx, "AdeleV@contoso.com")
			return err
		}},
		{"assign license", graphsim.PermUserReadWriteAll, func(ctx context.Context, f *fixture, id string) error {
			return f.client(t, f.config()).AssignLicense(ctx, id, graphsim.VirtualUserSkuID)
		}},
		{"number lookup", graphsim.PermTeamsTelephoneNumberReadWriteAll, func(ctx context.Context, f *fixture, _ string) error {
			_, err := f.client(t, f.config()).Lookup(ctx, "+14155550100")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := graphsim.LeastPrivilege().Without(tt.without)
			f := startSim(t, graphsim.Config{Grants: &g})
			before := f.sim.State()
			err := tt.call(context.Background(), f, before.Users[0].ID)
			wantAppErr(t, err, apperr.Forbidden, events.ReasonPermissionDenied)
			if after := f.sim.State(); len(after.Users) != len(before.Users) {
				t.Errorf("users %d → %d", len(before.Users), len(after.Users))
			}
		})
	}
}
