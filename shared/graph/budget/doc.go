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
// each hold their own budget and must be given their share of the limits:
// Limits.Share(n) gives each 1/n of every quota, rate and burst alike.
//
// A bucket's bound holds for one process only. A process that replaces
// another (a restart, a recycled or crash-looping Lambda instance) cannot
// know what its predecessor spent in the current window; if it starts with
// a full bucket, every start adds a burst b to that window, and k starts
// within one window admit up to (k+1)·b + r·W. With Limits.StartEmpty a new
// budget's buckets start empty and it spends only what it earns at rate r:
// a succession of processes then admits at most b + r·W in any window however
// often they restart, and the n processes of a Share(n) fleet together at
// most the tenant's b + r·W. Share(n) sets StartEmpty for n > 1.
//
// A single process (no share) starts full, as before: restarted at most once
// per window it stays within the quota at the default Headroom (2b + r·W =
// 0.99 × limit; the bound holds for Headroom ≤ 1/1.1), and starting empty
// would cost every start b/r of throughput (5 % of a window, 7.5 s of writes
// in real time). A host that may restart more often than once per window (a
// supervisor's crash loop) sets StartEmpty itself.
//
// TimeScale lets a time-scaled Graph simulator and the budget agree: it
// multiplies every quota window, so with TimeScale 0.01 the 10 s window lasts
// 100 ms of real time.
//
// The package depends on graphcost and golang.org/x/time/rate only, so steps
// and benchmarks can use it without linking the Graph SDK.
package budget
