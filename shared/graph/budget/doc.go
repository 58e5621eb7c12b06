// Package budget paces Microsoft Graph calls below the tenant's throttling
// limits, so a pipeline of many goroutines slows itself down instead of
// bouncing off 429 responses.
//
// A Budget holds one token bucket per quota of graphcost's model: identity
// resource units per 10 s, identity writes per 150 s and Teams requests per
// 10 s. Wait draws a call's cost from the buckets its service uses and blocks
// until all of them allow it. A bucket of rate r and burst b admits at most
// b + r·W in any window W. Each bucket keeps a small burst (5 % of the usable
// quota, Headroom × limit) and sets r = min(Headroom·limit, limit − b) / W:
// over a long run it sustains Headroom × limit per window, and no single
// window, burst included, exceeds the limit (with the default Headroom of
// 0.9, at most 94.5 % of it).
//
// When Graph throttles anyway (another process, another app of the tenant, a
// tighter limit than modelled), Throttled pauses every caller of that
// service until the server's Retry-After has passed.
//
// One budget per tenant per process: ForTenant returns the same *Budget to
// every client of a tenant. Processes that run in parallel (Lambda instances)
// each hold their own budget and must be given their share of the limits.
//
// TimeScale lets a time-scaled Graph simulator and the budget agree: it
// multiplies every quota window, so with TimeScale 0.01 the 10 s window lasts
// 100 ms of real time.
//
// The package depends on graphcost and golang.org/x/time/rate only, so steps
// and benchmarks can use it without linking the Graph SDK.
package budget
