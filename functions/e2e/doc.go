// Package e2e runs raprov's AWS deployment end to end on one machine, with
// nothing but loopback traffic: the real Lambda binaries of functions/<step>,
// each under the AWS Lambda Runtime Interface Emulator, fed by SQS queues of
// the fauxqs emulator through pollers that do what Lambda's SQS event
// source mapping does, with the ledger in DynamoDB Local, the Graph client
// secret in a Secrets Manager stand-in and Microsoft Graph played by the
// Graph simulator over TLS. Each function gets the environment template.yaml
// gives it, pointed at the stand-ins.
//
// The package has tests only (Linux: the emulator and the memory figures
// are Linux's). `go test ./functions/e2e/` builds every function for this
// machine once per run (TestMain) and runs the scenarios: happy path,
// duplicate delivery, poison and dead-letter replay, a function killed
// mid-batch, result callbacks. `make report-aws` (RAPROV_REPORT_AWS=1)
// prints each function's zip size, init time, first and warm invocation
// times and peak memory.
//
// One binary is not the deployable one: the callback test runs complete
// built with the e2ehooks tag (functions/complete/hooks_e2e.go), whose
// callback client resolves the names of RAPROV_E2E_CALLBACK_RESOLVE to the
// receiver on this machine; every other test and the report run the
// deployable build, which never reaches a loopback receiver.
package e2e
