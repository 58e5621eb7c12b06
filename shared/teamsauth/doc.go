// Package teamsauth is the delegated sign-in of the Teams admin back end: a
// service admin signs in once with the OAuth 2.0 device authorization grant
// (Login, run by `raprov login`), the refresh token Entra ID returns is kept
// in a Store, and Credential — an azcore.TokenCredential for
// shared/teamsadmin — redeems it for access tokens, caching each until
// shortly before it expires and saving the rotated refresh token Entra
// returns with every redemption.
//
// Why: Microsoft's Teams PowerShell documentation says application
// instances cannot be read, created or synced with app-only tokens in GCC
// High and DoD, and public reports show app and managed identities holding
// the Teams Administrator role refused with "Access Denied" on these routes
// (docs/teams-admin.md). azidentity's DeviceCodeCredential does not hand
// out or persist refresh tokens without its cache package, which needs an
// OS keyring, so the protocol (RFC 8628 as the Microsoft identity platform
// implements it) is spoken here with net/http.
//
// Secrets: refresh, access and device codes never appear in logs or in
// errors; Token.RefreshToken is a Secret that prints as [REDACTED]. The
// file store writes 0600 through a temporary file and a rename, and refuses
// a file that group or others may access. Errors that only a new sign-in
// can fix are *Error values with a NonRetriable method (so callers classify
// them as permanent) and a message telling the operator to run
// `raprov login` again.
//
// The package imports nothing of raprov's: the AWS and Azure hosts can give
// Credential a Store backed by Secrets Manager or Key Vault.
package teamsauth
