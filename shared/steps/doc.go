// Package steps holds raprov's step functions and the ports they use.
//
// A step is a pure func(ctx, events.Event) ([]events.Event, error): it reads
// the request and what earlier steps learned from the event, calls Microsoft
// through small port interfaces, and returns the events that start the next
// step. It never publishes or acknowledges; the transport runner publishes
// what it returns and then acknowledges the input. Every step is idempotent
// under re-delivery.
package steps
