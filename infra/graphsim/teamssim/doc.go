// Package teamssim simulates the Teams half of what raprov talks to: Microsoft
// Graph v1.0 telephone number management
// (/v1.0/admin/teams/telephoneNumberManagement: numberAssignments, assignNumber,
// unassignNumber and their long-running operations) and the Teams admin back
// end's application-instance endpoints (/Teams.PlatformService/v2/
// ApplicationInstances, /Teams.VoiceApps/applicationinstanceassociations).
//
// A Sim holds the tenant's number inventory, the operations started against
// it, the application instances (resource accounts bound to the auto attendant
// or call queue application) and their associations with auto attendants and
// call queues. Register mounts its handlers on a ServeMux; authentication,
// throttling, fault injection and request logging are the caller's middleware.
//
// Operations progress lazily: each read compares Config.Now with the
// operation's creation time, moves it notStarted → running → succeeded or
// failed one Config.OperationStepDelay per transition, and evaluates the
// assignment rules at the moment it completes. Users come from a Directory,
// which is expected to honour the simulated replication delay; on top of it
// Knobs.TeamsSyncDelay hides new and newly licensed users from the Teams
// side for a while, as Teams learns of them late.
//
// docs/graphsim-teams.md lists every rule with its source, or marks it
// inferred.
package teamssim
