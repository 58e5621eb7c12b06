// Package plan is the answer of a dry run as raprov's doors serve it —
// what the chain would do with each request, from reads of the tenant only
// — and the Planner that makes it. The HTTP door (shared/door/httpapi)
// answers it; shared/door/tenantreads plans it with shared/dryrun. It
// imports nothing of the door, so that a function planning dry runs (on
// AWS, check-license) links neither the door nor its validator.
package plan

import (
	"context"

	"github.com/raprov/raprov/events"
)

// Planner plans provisioning requests without submitting them: from reads
// of the tenant only, what the chain would create and assign for each
// request and what it would fail on (raprov's shared/dryrun behind an
// adapter). Requests come validated and normalised, in the order of the
// POST; they are planned in that order, as the chain would meet them one
// after the other. Plan returns one Plan per request, in order, or an
// error when the tenant could not be read (answered 503).
type Planner interface {
	Plan(ctx context.Context, reqs []events.Request) (DryRun, error)
}

// Verdicts of a Plan.
const (
	VerdictCreate   = "create"   // the UPN is free: the account would be created
	VerdictContinue = "continue" // the UPN is a resource account raprov created for this request id
	VerdictAdopt    = "adopt"    // the request adopts an existing resource account of its type
	VerdictRemove   = "remove"   // a deprovision request: the account raprov created would be removed
	VerdictFail     = "fail"     // the request would fail with Plan.Reason
)

// DryRun answers a POST /requests whose requests say "dryRun": true (200).
type DryRun struct {
	DryRun bool   `json:"dryRun"` // always true: nothing was queued
	Plans  []Plan `json:"plans"`  // one per request, in order
	// License is the resource-account SKU before and after the requests;
	// nil when the tenant has no such subscription.
	License *LicensePlan `json:"license,omitempty"`
}

// LicensePlan is the resource-account SKU's free seats before and after
// the requests of a dry run.
type LicensePlan struct {
	SKU        string `json:"sku"`
	FreeBefore int    `json:"freeBefore"`
	FreeAfter  int    `json:"freeAfter"`
}

// Plan is what the chain would do with one request.
type Plan struct {
	Index             *int   `json:"index,omitempty"` // the batch item; absent for a single request
	RequestID         string `json:"requestId"`
	UserPrincipalName string `json:"userPrincipalName"`
	// Outcome is "completed" when the request would succeed, else the
	// reason code it would fail with (as Reason).
	Outcome string `json:"outcome"`
	Verdict string `json:"verdict"` // one of the Verdict* values
	Reason  string `json:"reason,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// ObjectID is the existing account a continue or adopt plan goes on with.
	ObjectID string `json:"objectId,omitempty"`
	// PhoneNumber is the requested number (E.164) and Number what the
	// tenant's inventory says of it: free, ours, in use by …, not found, …
	PhoneNumber string `json:"phoneNumber,omitempty"`
	Number      string `json:"number,omitempty"`
	// TakesSeat says a license would be assigned; SeatsBefore and
	// SeatsAfter are the SKU's free seats around this request, the earlier
	// requests counted. LicenseWait says none is free: the request would
	// wait for one (up to LICENSE_WAIT, then fail no_license).
	TakesSeat   bool `json:"takesSeat"`
	SeatsBefore int  `json:"seatsBefore"`
	SeatsAfter  int  `json:"seatsAfter"`
	LicenseWait bool `json:"licenseWait,omitempty"`
	// SameAs is the index of an earlier item of the batch with the same
	// request id and content: the chain would run it once.
	SameAs *int `json:"sameAs,omitempty"`
}
