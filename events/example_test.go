package events_test

import (
	"fmt"
	"time"

	"github.com/raprov/raprov/events"
)

// A step reads its input event, does its work and returns the next event;
// the transport encodes it, publishes it to its destination and decodes it
// on the other side.
func Example() {
	in := events.New(events.TypeAccountCreated, events.Source(events.StepCreateAccount), events.Data{
		Request: events.Request{
			RequestID:         "INC0012345",
			DisplayName:       "Contoso Main Line",
			UserPrincipalName: "ra-mainline@contoso.com",
			AccountType:       events.AccountTypeAutoAttendant,
			UsageLocation:     "US",
			NumberType:        events.NumberTypeCallingPlan,
		},
		Progress: events.Progress{ObjectID: "8b5e2f8c-1f0e-4c1b-9a43-5d6f7e8a9b0c"},
	})

	// assign-license succeeded:
	out := in.Next(events.TypeLicenseAssigned, events.Source(events.StepAssignLicense))
	b, err := events.Encode(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := events.Decode(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got.Type, "for", got.Subject, "to", events.Destination(got))
	fmt.Println("object id:", got.Data.Progress.ObjectID)

	// ... or Graph throttled it: try the input again later.
	retry := in.Retry(30 * time.Second)
	fmt.Println(retry.Type, "attempt", retry.Attempt, "after", retry.Delay, "to", events.Destination(retry))

	// Output:
	// raprov.license.assigned.v1 for INC0012345 to assign-number
	// object id: 8b5e2f8c-1f0e-4c1b-9a43-5d6f7e8a9b0c
	// raprov.account.created.v1 attempt 1 after 30s to assign-license
}
