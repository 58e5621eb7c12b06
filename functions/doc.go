// Package functions holds one thin Lambda main per step (functions/<step>),
// each wiring config, the step and the SQS transport adapter.
package functions
