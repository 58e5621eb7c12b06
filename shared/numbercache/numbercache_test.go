package numbercache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/numbercache"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

type counts struct{ inventory, lookups int }

func world(inv []steps.NumberAssignment, invErr error) (*mock.Numbers, *counts) {
	c := &counts{}
	byNumber := map[string]steps.NumberAssignment{}
	for _, n := range inv {
		byNumber[n.TelephoneNumber] = n
	}
	return &mock.Numbers{
		InventoryFn: func(context.Context) ([]steps.NumberAssignment, error) {
			c.inventory++
			return inv, invErr
		},
		LookupFn: func(_ context.Context, e164 string) (*steps.NumberAssignment, error) {
			c.lookups++
			if n, ok := byNumber[e164]; ok {
				return &n, nil
			}
			return nil, nil
		},
	}, c
}

var inventory = []steps.NumberAssignment{
	{TelephoneNumber: "+12065550100", AssignmentStatus: "unassigned"},
	{TelephoneNumber: "+12065550101", AssignmentStatus: "unassigned"},
	{TelephoneNumber: "+12065550142", AssignmentStatus: "voiceApplicationAssigned", AssignmentTargetID: "ra-1"},
}

func TestFreeNumbersFromOneRead(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	next, c := world(inventory, nil)
	cache := numbercache.New(next, 10*time.Second, func() time.Time { return now })
	ctx := context.Background()
	for _, tel := range []string{"+12065550100", "+12065550101"} {
		n, err := cache.Lookup(ctx, tel)
		if err != nil || n == nil || n.TelephoneNumber != tel || n.AssignmentTargetID != "" {
			t.Fatalf("Lookup(%s) = %+v, %v", tel, n, err)
		}
	}
	if c.inventory != 1 || c.lookups != 0 {
		t.Fatalf("inventory reads %d, lookups %d; want one read for two free numbers", c.inventory, c.lookups)
	}

	// An assigned, unknown or already handed-out number is looked up afresh.
	for _, tel := range []string{"+12065550142", "+12065550199", "+12065550100"} {
		if _, err := cache.Lookup(ctx, tel); err != nil {
			t.Fatal(err)
		}
	}
	if c.lookups != 3 || c.inventory != 1 {
		t.Fatalf("lookups %d, inventory reads %d; want every non-free answer verified", c.lookups, c.inventory)
	}

	// After the TTL the inventory is read again.
	now = now.Add(10 * time.Second)
	if _, err := cache.Lookup(ctx, "+12065550100"); err != nil {
		t.Fatal(err)
	}
	if c.inventory != 2 || c.lookups != 3 {
		t.Fatalf("after the TTL: inventory reads %d, lookups %d", c.inventory, c.lookups)
	}
}

func TestOffAndFailures(t *testing.T) {
	ctx := context.Background()
	next, c := world(inventory, nil)
	off := numbercache.New(next, 0, nil)
	if _, err := off.Lookup(ctx, "+12065550100"); err != nil || c.inventory != 0 || c.lookups != 1 {
		t.Fatalf("TTL 0: inventory %d lookups %d, err %v", c.inventory, c.lookups, err)
	}

	next, c = world(inventory, errors.New("503"))
	failing := numbercache.New(next, time.Minute, nil)
	n, err := failing.Lookup(ctx, "+12065550100")
	if err != nil || n == nil || c.lookups != 1 {
		t.Fatalf("inventory read failed: %+v, %v, %d lookups; want the number looked up", n, err, c.lookups)
	}
}
