// Package graphsim is a Microsoft Graph simulator: a real HTTP(S) server that
// the real msgraph-sdk-go and azidentity clients talk to, behaving like the
// slice of Microsoft Graph v1.0 that raprov uses.
//
// It serves
//   - the Microsoft identity platform's client-credentials flow (OpenID
//     configuration, instance discovery, the v2.0 token endpoint) for a client
//     secret or a certificate-signed client assertion;
//   - /v1.0/subscribedSkus and /v1.0/users (create, get by id or
//     userPrincipalName, $filter, $select, update, delete, licenseDetails,
//     assignLicense) with Graph's rules, JSON shapes and error bodies;
//   - the Teams telephone-number and application-instance endpoints of
//     package teamssim, mounted on the same handler;
//   - an unauthenticated admin API under /_sim/ (state dump, normalised
//     snapshot, request counts, licenses, knobs, faults) meant for loopback
//     use only.
//
// Knobs add replication delay (a new user is not found for a while), Graph's
// throttling cost model (the simulator's own transcription, cost.go) with a
// time scale so that benchmarks run in seconds, random or injected faults and
// slow responses. Every route checks the application permissions and
// directory roles of the caller's token (permissions.go). Every rule that
// depends on time reads Config.Clock (clock.go): tests give a FakeClock and
// advance it, so throttling windows, delays, operations and token lifetimes
// are checked exactly on any machine.
// Every response carries request-id and client-request-id headers, as Graph's
// do. The rules and the Microsoft documentation each comes from are listed in
// docs/graphsim.md.
package graphsim
