// Package aws holds raprov's AWS deployment checks. The deployment itself is
// the SAM template at the repository root (template.yaml), built and zipped by
// `make build package` (cmd/lambdazip) and described in docs/aws.md.
//
// The package has no code of its own: its test walks template.yaml as YAML
// nodes (no SAM CLI, cfn-lint or goformation is needed) and checks it against
// the chain's routing table (events.Routes) and the functions' configuration
// contract, so a step added, renamed or rerouted in code fails here until the
// template follows.
package aws
