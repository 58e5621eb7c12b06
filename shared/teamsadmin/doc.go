// Package teamsadmin is the HTTP adapter for the Teams admin back end
// (api.interfaces.records.teams.microsoft.com), the service behind the Teams
// PowerShell cmdlets New-/Sync-CsOnlineApplicationInstance and
// New-CsOnlineApplicationInstanceAssociation. Microsoft Graph has no API that
// makes an Entra user a Teams application instance (resource account) or
// associates it with an auto attendant or call queue; this package does it
// with plain net/http and an azcore.TokenCredential.
//
// The back end is not a documented public API. Only some of its paths and
// payloads are confirmed by public sources; every path is configurable and
// docs/teams-admin.md lists what is verified and what is inferred, so an
// operator can compare it with the traffic of the cmdlets in their tenant.
//
// *Client implements steps.TeamsAdmin and, for deprovisioning,
// steps.Unassociator (Remove-CsOnlineApplicationInstanceAssociation). Errors are *apperr.Error values,
// classified primarily by HTTP status:
//
//	401, 403            Forbidden, reason permission_denied
//	429                 Throttled, RetryAfter from the Retry-After header
//	5xx, network        Unavailable (RetryAfter when the server sent one)
//	404                 NotFound (a user Teams does not know yet: new accounts reach Teams after minutes
//	                    up to 24 hours; transient at the caller's discretion)
//	409                 Conflict
//	other 4xx           Invalid
//
// Throttled and Unavailable responses are retried in-process a few times
// (Config.MaxRetries), honouring Retry-After up to Config.MaxRetryWait; a
// longer wait is returned to the caller, whose step re-schedules itself.
// Bearer tokens never appear in logs or errors.
package teamsadmin
