// Package doctor checks a tenant read-only before raprov runs against it:
// the configuration, the app's tokens and what they grant, the resource
// account license, the Teams admin back end's inferred routes, the telephone
// number inventory, the ownership attribute and the verified domains.
//
// # Contract
//
//   - It only reads. The checks send GET requests (and the token requests of
//     the client-credentials flow) through small ports (Graph, Teams); the
//     command wires them to the real adapters over a Recorder, an
//     http.RoundTripper that refuses every other request before it leaves
//     the process, whatever a bug upstream might try.
//   - It never prints a secret or token. Tokens are decoded (not verified)
//     to read their roles and wids and then dropped; every string from the
//     tenant is escaped (Escape) before it is printed.
//   - Each check is one Result: ok, warn, fail or skip, a one-line summary,
//     what to do, and details. Report.Exit is 0 when no check failed, 1 when
//     one did, 3 when the configuration or the credentials are unusable and
//     4 when Microsoft (token endpoint, Graph or the Teams admin back end)
//     could not be reached.
//   - Recorder.WriteCapture writes every request made, its status and its
//     answer as JSON for a bug report: tokens and secrets redacted, the ids,
//     names and numbers in Microsoft's answers replaced by stable pseudonyms
//     (the same value gets the same pseudonym within one capture); in
//     answers that are not JSON or were cut, anything shaped like an
//     address, a GUID or a long number too.
//
// Which routes each check reads is listed in docs/teams-admin.md ("Checking
// a tenant: raprov doctor").
package doctor
