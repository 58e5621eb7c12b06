package budget_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/graph/graphcost"
)

// Every client of a tenant in the process draws from one budget; a 429
// pauses all of them until its Retry-After has passed.
func ExampleForTenant() {
	limits := budget.DefaultLimits(120) // a tenant of 120 users: 5,000 RU per 10 s
	limits.TimeScale = 0.001            // as fast as a time-scaled simulator
	b := budget.ForTenant("example-tenant", limits)

	ctx := context.Background()
	cost := graphcost.Of("POST", "/v1.0/users", nil)
	if err := b.Wait(ctx, cost); err != nil {
		fmt.Println(err)
	}

	b.Throttled(cost.Service, 20*time.Millisecond)
	start := time.Now()
	_ = b.Wait(ctx, cost)
	fmt.Println(budget.ForTenant("EXAMPLE-TENANT", limits) == b, time.Since(start) >= 20*time.Millisecond)

	// A wait past the caller's deadline is refused at once.
	b.Throttled(cost.Service, time.Hour)
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var de *budget.DelayError
	if err := b.Wait(short, cost); errors.As(err, &de) {
		fmt.Println("retry in about", de.Delay.Round(time.Minute))
	}
	// Output:
	// true true
	// retry in about 1h0m0s
}
