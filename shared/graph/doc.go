// Package graph is raprov's Microsoft Graph adapter: it implements the
// steps.Licenses, steps.Accounts and steps.Numbers ports and, for
// deprovisioning, steps.AccountRemover, steps.LicenseRemover and
// steps.NumberUnassigner on msgraph-sdk-go, and is the only package that
// imports the Graph SDK, kiota or azidentity.
//
// # Authentication
//
// App-only client credentials through azidentity: a client secret, or a
// certificate (PEM or PKCS#12 file, Config.CertificatePath). Tokens are sent
// to the host of Config.BaseURL only. Application permissions, least
// privilege, each needed by a call here:
//
//   - User.ReadWrite.All: create users, read them by id or UPN, PATCH
//     usageLocation or accountEnabled, POST /users/{id}/assignLicense,
//     DELETE /users/{id}.
//   - LicenseAssignment.Read.All (or Organization.Read.All): GET /subscribedSkus.
//   - TeamsTelephoneNumber.ReadWrite.All: number inventory, assignNumber,
//     unassignNumber, operations.
//
// docs/permissions.md has the sources.
//
// # Requests
//
// Users and subscribedSkus go through the SDK's typed request builders.
// Telephone number management has no builders in SDK v1.89.0 and is sent as
// kiota RequestInformation through the same request adapter. The adapter is
// built from msgraph-sdk-go-core with the JSON serializer only, instead of
// the SDK's root package, which would link the whole Graph client.
//
// # Throttling and retries
//
// Every HTTP attempt first waits for the tenant's budget (package budget,
// shared by all clients of the tenant in the process); a 429 pauses the
// budget for its Retry-After. kiota's retry handler retries 429, 503 and
// 504 (GET only: a 504 write may have happened) at most Config.MaxRetries
// times and only while its waits stay within Config.MaxWait; 500, 502 and
// network errors are not retried in process. No call waits longer than
// Config.MaxWait for the budget either. Past those bounds the call returns an
// apperr Throttled or Unavailable error carrying the wait (Retry-After), and
// the queue transport delays the message rather than keeping a function
// busy.
//
// # Errors
//
// Every error is an *apperr.Error:
//
//	400 ObjectConflict on userPrincipalName     Conflict, upn_conflict
//	400 no available licenses / unknown SKU     Invalid, no_license
//	400 domain of the UPN not verified          Invalid, domain_not_verified
//	400 anything else (usage location, …)      Invalid, rejected (message has Graph's code)
//	401, 403, token request refused            Forbidden, permission_denied
//	404                                        NotFound (right after Create: replication lag)
//	409                                        Conflict
//	429                                        Throttled with RetryAfter
//	5xx, 408, timeouts, network errors         Unavailable (RetryAfter when sent)
//
// Removing what is already gone is a success: Delete takes a 404 as
// deleted, RemoveLicense a user without the license (read first, or
// Graph's 400 "User does not have a corresponding license."), Block an
// account already blocked (read first). Reads come first where they save a
// write, the scarcer quota (deprovision.go).
//
// Messages name the operation, HTTP status and Graph's error code and
// message; never a token, secret or password.
package graph
