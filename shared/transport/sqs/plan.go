package sqs

import (
	"context"

	"github.com/raprov/raprov/events"
)

// DryRunKind is the "raprov" member of a DryRunInvocation.
const DryRunKind = "dry-run"

// DryRunInvocation is the payload the intake function invokes the planning
// function with (Lambda Invoke, RequestResponse) to answer a dry run of
// its HTTP door: intake validates and normalises the requests — only it
// links the validator — and the planning function, which links Graph,
// reads the tenant. Only intake's role may invoke it.
type DryRunInvocation struct {
	Raprov   string           `json:"raprov"` // DryRunKind
	Requests []events.Request `json:"requests"`
}

// Planned answers a DryRunInvocation: its result (an httpapi.DryRun) is
// the invocation's response, its error a failed invocation.
type Planned = func(ctx context.Context, reqs []events.Request) (any, error)
