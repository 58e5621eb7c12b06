// Package httpapi is raprov's signed HTTP door: POST /requests queues
// provisioning requests (or, when they say "dryRun": true, plans them),
// DELETE /requests/{id} queues the deprovisioning of the account request
// {id} created, GET /requests/{id} and GET /requests report their status
// from the ledger. docs/http.md is the reference for senders.
//
// The package knows no transport and no SDK. It works over two ports: a
// Submitter that queues requests for intake (the embedded SQLite queue, SQS,
// ...) and a ledger.Ledger for status; and two optional ones that read the
// tenant: a Planner for dry runs (without it they are answered 501) and
// Accounts, which checks the account a DELETE names before it is queued.
// Wiring lives in cmd/raprov and the functions.
//
// # Authentication
//
// Every request carries
//
//	X-Raprov-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
//
// the scheme raprov uses to sign its result callbacks (shared/callback), in
// the other direction: the HMAC key is one of Options.Keys, the body is the
// raw request body; a GET signs "GET <target>" instead (GetMessage), a
// DELETE "DELETE <target>" and its body (DeleteMessage), so that a
// signature serves only the method and resource it was made for. A signature is accepted when its
// timestamp is within MaxSkew of the server's clock and it matches one of
// the active keys (compared with hmac.Equal); two keys may be active at once
// so that senders can move from one to the next. Anything else is 401 and
// nothing is queued. Keys never appear in logs, errors or answers.
//
// # Submission
//
// POST /requests takes one request (a plain JSON request, or a CloudEvent
// of type raprov.provisioning.requested.v1 in structured or binary mode) or
// a batch (a JSON array of requests, or application/cloudevents-batch+json).
// Each request is validated and normalised before anything is queued
// (Options.Normalize, the same rules as the intake step): one invalid
// request in a batch refuses the whole batch with every bad item listed, so
// a sender can fix and resend it as a whole. A request without requestId is
// given one (Normalize generates it) and that request is submitted, so the
// id in the answer is the one the chain uses. The Submitter decides, per
// request id and fingerprint, whether a request is new (202), the same
// request again (200 with its current status) or a different request under
// a used id (409 request_conflict).
//
// # Dry runs
//
// A request object may carry "dryRun": true, a flag to the door that is
// dropped while decoding (it is no field of events.Request, so it never
// changes a fingerprint). A POST whose requests all say so is validated as
// usual and then planned by Options.Planner instead of submitted: 200 with
// one Plan per request, nothing queued or claimed. A batch mixing dry and
// real requests is refused, as is the flag anywhere it would be ignored (a
// CloudEvent attribute, a query parameter).
//
// # Deprovisioning
//
// DELETE /requests/{id} submits the deprovision request
// events.DeprovisionID(id) with target id and the userPrincipalName its body
// names (the ledger does not keep the accounts requests name), once the
// ledger shows {id} is a provisioning request that has ended and that got
// as far as create-account (and, with Options.Accounts, that the account
// exists and carries {id}'s ownership mark). Asking again is a Duplicate
// (200); the chain removes only an account carrying {id}'s ownership mark.
//
// The handler serves the paths /requests and /requests/{id} from the root
// of the server; mount it there (for example on "/requests" and
// "/requests/" of a ServeMux), not under a stripped prefix, since the
// status links it returns are absolute paths. Every answer is JSON. Server
// timeouts (ReadHeaderTimeout, ReadTimeout) are the caller's to set.
package httpapi
