// Package netguard decides whether a host may receive raprov's outbound
// requests (result callbacks): it refuses loopback, private, link-local,
// shared (CGNAT), multicast and other special-purpose addresses, well-known
// internal host names and numeric host spellings, and matches host names
// against an operator's allow-list.
//
// It is the one place of these rules for two callers: events/validate, which
// refuses such callback URLs at intake without resolving anything, and
// shared/callback, which checks every address it actually dials (a public
// name may resolve to a private address, and DNS may answer differently at
// intake and at dial time). It lives apart from both because neither may
// import the other: events/validate links the phone-number library, which
// only intake may link, and shared/callback imports apperr and steps, which
// intake's validation has no use for. It imports only the standard library
// and nothing of raprov's, so any package may use it.
package netguard
