// Package dryrun plans provisioning requests without provisioning them: it
// reads the tenant through the steps ports (SKU counts, the account behind a
// UPN, the number inventory, the Teams application instance of an existing
// account) and tells, per request, what the chain would create and assign
// and what would fail, with the reason code the chain would report.
//
// A Planner only ever calls the read methods of the ports: Licenses.Sku,
// Accounts.FindByUPN and Get, Numbers.Lookup and AssignedTo,
// TeamsAdmin.Ready and ApplicationInstance. It never calls Create,
// SetUsageLocation, AssignLicense, Assign, Bind or Associate.
//
// Requests are planned in file order against one reading of the tenant, as
// the chain would meet them if it ran them one after the other: a seat,
// a UPN or a number a row would take is not available to the rows after
// it. The judgements are the chain's own: steps.CheckNumber for a number,
// steps.BelongsTo and steps.IsResourceAccount for a taken UPN; the
// adoption checks of create-account are restated read-only in
// checkExisting.
//
// What only a write can reveal is not planned: Graph refusing the create
// (a UPN taken by a mail address or proxy address of another object, a
// mailNickname clash), Teams refusing the bind or taking longer than
// TEAMS_SYNC_WAIT (teams_not_ready), the asynchronous number assignment
// failing (number_assignment_failed), an auto attendant or call queue id
// that does not exist (association_failed), throttling and outages
// (retries_exhausted), and anything that changes in the tenant between the
// dry run and the run.
package dryrun
